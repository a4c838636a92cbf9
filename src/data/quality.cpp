// The quality score of an answer (formula in data.h) and its recomputation from stored feedback.
#include "core/error.h"
#include "data/data.h"

namespace hearth::data {

double quality_score(const QualityInputs& in) {
  // A correction says exactly what the answer should have been: it wins over everything, since
  // the correction (not the original answer) becomes the training target.
  if (in.corrected) return 0.95;
  if (in.rating) {
    const int r = *in.rating;
    HEARTH_ASSERT(r >= 1 && r <= 5, "a rating must be 1..5");
    return (r - 1) / 4.0;
  }
  if (in.thumbs) return *in.thumbs > 0 ? 0.9 : 0.0;
  // Implicit signals only. Asking for another answer is the stronger statement, so it wins over
  // having continued afterwards.
  if (in.regenerated) return 0.1;
  if (in.continued) return 0.65;
  return 0.5;
}

double rescore_message(const db::Database& db, std::int64_t user_id, std::int64_t message_id) {
  db::Conversations conversations(db);
  auto message = conversations.find_message(user_id, message_id);
  if (!message) throw Error(ErrorKind::not_found, "no message " + std::to_string(message_id));
  if (message->role != "assistant")
    throw Error(ErrorKind::invalid_input, "message " + std::to_string(message_id) +
                                              " is not an answer; only answers are scored");
  QualityInputs in;
  in.regenerated = message->regenerated;
  in.continued = message->continued;
  if (auto f = db::FeedbackStore(db).find(user_id, message_id)) {
    in.thumbs = f->thumbs;
    in.rating = f->rating;
    in.corrected = !f->corrected_answer.empty();
  }
  const double score = quality_score(in);
  conversations.set_quality(user_id, message_id, score);
  return score;
}

}  // namespace hearth::data
