// data: from kept conversations and feedback to training data (DESIGN.md §2 `data/`).
//
//   quality_score()    a score in [0, 1] for every assistant message, from its feedback
//   export_dataset()   JSONL in OpenAI's chat fine-tuning format, train/validation split
//   readiness()        how many qualifying examples each model has so far
//   validate_jsonl()   OpenAI's format checks, by line
//
// Quality score (transparent on purpose; recomputed whenever a message's feedback changes):
//   - a rating r of 1..5 decides alone:       (r − 1) / 4        (5 → 1.0, 3 → 0.5, 1 → 0.0)
//   - else thumbs up / down:                  0.9 / 0.0
//   - a corrected answer:                     0.95, and the correction replaces the answer as
//                                             the training target (whatever else was said)
//   - no explicit feedback: implicit signals  regenerated 0.1; continued 0.65; neither 0.5
//   An explicit rating or thumbs always wins over implicit signals (a regenerated answer the
//   user still rated 5 scores 1.0).
//
// An example is one conversation: the messages of its current branch in order (answers that
// were regenerated are off that branch and never exported) (a system message first when the
// conversation had one), each assistant turn with "weight": 1 when its score is above the
// threshold (0.7: a thumbs up, a rating of 4 or 5, a correction), else 0. A conversation qualifies when at least one of its assistant turns has
// weight 1; only qualifying conversations are written. Conversations count only when training
// use is allowed for them (the conversation's own opt-in, else the user's setting). Scores are
// computed from the stored feedback at export time (the formula above), empty messages and the
// turns after the last answer are left out, and a corrected answer is written in place of the
// original. Duplicates (identical lines after redaction) keep the oldest conversation's.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "db/conversations.h"

namespace hearth::data {

struct QualityInputs {
  std::optional<int> thumbs{};  // +1 / -1
  std::optional<int> rating{};  // 1..5
  bool corrected = false;
  bool regenerated = false;
  bool continued = false;
};
double quality_score(const QualityInputs& in);

// Recomputes and stores the score of one assistant message from its feedback and signals.
double rescore_message(const db::Database& db, std::int64_t user_id, std::int64_t message_id);

struct ExportOptions {
  double min_score = 0.7;
  std::int64_t min_examples = 100;
  bool allow_small = false;  // write even with fewer than min_examples
  std::string model{};       // only this model's conversations ("" = all)
  std::optional<db::Timestamp> since{};
  double validation = 0.1;  // fraction of examples (by conversation) for the validation file
  bool redact_pii = false;  // e-mail addresses, phone numbers, secrets → [EMAIL], [PHONE], [SECRET]
  // Answers keep their reasoning as "<think>\n...\n</think>\n\n" in front of the text, for
  // training a model to reason; by default the reasoning stays out of training targets.
  bool keep_thinking = false;
  std::uint64_t seed = 0;  // the split is a pure function of (seed, conversation id)
  // How the caller lets users override the minimum, named in the "too few" error: the API's
  // field by default, "--allow-small" on the command line.
  std::string allow_small_name = "allow_small";
  // Sealed with the user's data key (crypto/sealed_file.h): what the server and the default
  // `hearth data export` keep under HEARTH_HOME. False writes plain JSONL, for a folder the user
  // named (`hearth data export --out DIR`).
  bool seal_files = true;
};

struct ExportResult {
  std::filesystem::path train_path;
  std::filesystem::path validation_path;
  std::int64_t train_examples = 0;
  std::int64_t validation_examples = 0;
  std::int64_t duplicates_removed = 0;
  std::int64_t weighted_turns = 0;  // assistant turns with weight 1
  std::string content_hash;         // sha256 hex of both files' bytes
  std::int64_t dataset_version_id = 0;
};

// Writes <out_dir>/<name>-train.jsonl and <name>-validation.jsonl (atomically: temp + fsync +
// rename; <name> is "<UTC time>-<first 8 hex of the content hash>"; the validation file only when
// it has examples, validation_path is empty otherwise; at least one validation example whenever
// validation > 0 and there are two or more examples)
// and records a db::DatasetVersion. Error(invalid_input) "only N qualifying examples; at least M
// are needed (<allow_small_name> to export anyway)" when there are too few, and for none at all even
// with allow_small; nothing is written then.
ExportResult export_dataset(const db::Database& db, std::int64_t user_id,
                            const ExportOptions& options, const std::filesystem::path& out_dir);

struct Readiness {
  std::string model;
  std::int64_t qualifying = 0;  // examples that would be exported now
  std::int64_t needed = 100;
};
// `since`: only conversations after it (as the export's since).
std::vector<Readiness> readiness(const db::Database& db, std::int64_t user_id,
                                 double min_score = 0.7, std::int64_t needed = 100,
                                 std::optional<db::Timestamp> since = {});

// Replaces e-mail addresses, phone numbers and secrets (API keys, tokens, private keys).
std::string redact_pii(std::string_view text);

// ---- validation -------------------------------------------------------------------------------

struct ValidationIssue {
  std::size_t line = 0;  // 1-based
  std::string code;      // data_type, missing_messages_list, message_missing_key,
                         // message_unrecognized_key, unrecognized_role, missing_content,
                         // example_missing_assistant_message, invalid_json, invalid_weight
  std::string message;
};

struct ValidatedExample {
  std::size_t line = 0;
  std::vector<std::pair<std::string, std::string>> messages;  // (role, content), for token counts
  std::vector<bool> trained;  // per message: an assistant answer to learn (weight absent or 1)
};

struct ValidationReport {
  std::size_t lines = 0;  // non-empty lines read
  std::vector<ValidationIssue> issues;
  std::vector<ValidatedExample> examples;  // the lines without issues
};

// Error(not_found / io) when the file cannot be read; everything else is an issue.
ValidationReport validate_jsonl(const std::filesystem::path& file);

}  // namespace hearth::data
