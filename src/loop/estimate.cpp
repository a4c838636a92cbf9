// estimate_job (estimate.h): the same choices a local job makes when it runs (local_job.cpp),
// made ahead without training.
#include "loop/estimate.h"

#include <algorithm>
#include <atomic>
#include <fstream>
#include <utility>

#include "core/json_text.h"
#include "data/data.h"
#include "data/examples.h"
#include "engine/chat/chat_template.h"
#include "engine/model/model.h"
#include "hardware/hardware.h"
#include "loop/internal.h"
#include "loop/loop.h"
#include "train/chat_examples.h"
#include "train/lora_init.h"

namespace hearth::loop {
namespace {

namespace fs = std::filesystem;

// The user's current qualifying data for the model, written briefly to a file of the user's
// datasets folder so that it is read exactly as a job reads its dataset; removed afterwards.
class CurrentData {
 public:
  CurrentData(const db::Database& db, std::int64_t user_id, const std::string& model,
              const fs::path& dir) {
    const data::detail::Examples found =
        data::detail::collect_examples(db, user_id, {kQualifyingScore, model, std::nullopt, false});
    count = static_cast<std::int64_t>(found.list.size());
    if (count < kMinimumExamples) throw NotEnoughData(model, count, kMinimumExamples);
    fs::create_directories(dir);
    static std::atomic<std::uint64_t> serial{0};  // two estimates at once write two files
    path = dir / (".estimate-" + std::to_string(user_id) + "-" + std::to_string(++serial) + ".jsonl");
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    for (const auto& e : found.list) out << e.line << '\n';
    if (!out.flush())
      throw Error(ErrorKind::io, "could not write the data to estimate from (disk full?)");
  }
  ~CurrentData() {
    std::error_code ignored;
    if (!path.empty()) fs::remove(path, ignored);
  }
  CurrentData(const CurrentData&) = delete;
  CurrentData& operator=(const CurrentData&) = delete;

  std::int64_t count = 0;
  fs::path path;
};

// Tokens per second of the user's newest completed local job of this base model, and its id.
std::optional<std::pair<double, std::int64_t>> measured_speed(const db::Database& db,
                                                              std::int64_t user_id,
                                                              const std::string& base) {
  for (const db::TrainingJob& j : db::TrainingJobs(db).list(user_id)) {
    if (j.status != db::JobStatus::completed || j.trainer != "local" || j.base_model != base)
      continue;
    const auto metrics = detail::object_of(j.training_metrics);
    if (const auto* v = metrics.if_contains("tokens_per_second"); v && v->is_number()) {
      const double speed = v->to_number<double>();
      if (speed > 0) return std::pair{speed, j.id};
    }
  }
  return std::nullopt;
}

}  // namespace

BatchChoice choose_batch(const model::Model& model, const train::LoraAdapter& adapter,
                         std::int64_t longest, const Hyperparameters& asked,
                         std::int64_t examples, int threads, std::uint64_t available) {
  BatchChoice c;
  for (std::int64_t b : asked.batch_size ? std::vector<std::int64_t>{*asked.batch_size}
                                         : std::vector<std::int64_t>{4, 2, 1}) {
    c.plan = train::choose_plan(model, adapter, longest, static_cast<int>(b), threads, available,
                                false);
    c.settings = resolve(asked, examples, b);
    if (available == 0 || c.plan.peak() <= available) break;
  }
  return c;
}

JobEstimate estimate_job(const db::Database& db, library::Library& library, std::int64_t user_id,
                         const EstimateJob& request) {
  if (request.model.empty())
    throw Error(ErrorKind::invalid_input, "field 'model' is required: the personal model to train");
  const library::ResolvedModel base = library.resolve(user_id, request.model);
  if (!db::PersonalModels(db).find_by_name(user_id, base.name))
    throw Error(ErrorKind::not_found, "personal model '" + request.model + "' not found");

  auto model = model::Model::load(base.model_path);
  const chat::ModelChat chat = chat::ModelChat::of(model->file(), model->tokenizer());
  auto read = [&](const fs::path& path) {
    return train::fit_to_length(train::read_training_file(path, chat, model->tokenizer()),
                                detail::kMaxSeq);
  };
  std::vector<train::Example> examples;
  if (request.dataset_version_id) {
    const auto dataset = db::DatasetVersions(db).find(user_id, *request.dataset_version_id);
    if (!dataset)  // another user's answers as a missing one
      throw Error(ErrorKind::not_found, "dataset version " +
                                                std::to_string(*request.dataset_version_id) +
                                                " not found");
    examples = read(dataset->train_path);
  } else {
    if (!db::UserSettingsStore(db).get(user_id).training_opt_in)
      throw Error(ErrorKind::invalid_input,
                  "you have not opted in to training; opt in with PUT /api/settings "
                  "{\"training_opt_in\": true} and keep the conversations you want it to learn "
                  "from");
    const CurrentData current(db, user_id, base.name, request.scratch_dir);
    examples = read(current.path);
    // The job holds a tenth back for its evaluation (start_job exports with validation 0.1).
    examples.resize(examples.size() - examples.size() / 10);
  }

  JobEstimate e;
  e.model = base.name;
  e.examples = static_cast<std::int64_t>(examples.size());
  for (const auto& ex : examples) {
    e.tokens += static_cast<std::int64_t>(ex.tokens.size());
    e.longest = std::max<std::int64_t>(e.longest, static_cast<std::int64_t>(ex.tokens.size()));
  }

  // The batch as the job picks it: the user's, else the largest of 4, 2, 1 that fits.
  const Hyperparameters& asked = request.hyperparameters;
  e.settings = resolve(asked, e.examples, asked.batch_size.value_or(4));
  const train::LoraAdapter adapter =
      train::new_adapter(*model, detail::kTargets, static_cast<int>(e.settings.rank),
                         static_cast<float>(e.settings.alpha), detail::kSeed);
  e.available = request.memory_budget > 0 ? request.memory_budget
                                          : hardware::read_meminfo().available;
  const BatchChoice batch = choose_batch(*model, adapter, e.longest, asked, e.examples,
                                         std::max(1, request.threads), e.available);
  e.settings = batch.settings;
  e.memory = batch.plan;
  e.fits = e.available == 0 || e.memory.peak() <= e.available;

  const double mean = e.examples > 0 ? static_cast<double>(e.tokens) / static_cast<double>(e.examples) : 0;
  e.trained_tokens = static_cast<std::int64_t>(
      mean * static_cast<double>(e.settings.steps * e.settings.batch));
  if (const auto speed = measured_speed(db, user_id, base.name)) {
    e.seconds = static_cast<double>(e.trained_tokens) / speed->first;
    e.basis = "job " + std::to_string(speed->second) + " of " + base.name + " trained at " +
              std::to_string(static_cast<std::int64_t>(speed->first)) +
              " tokens/s on this machine; the evaluation after training adds a little";
  } else {
    e.basis = "no job of " + base.name +
              " has finished on this machine yet, so its speed is unknown; the first job "
              "measures it";
  }
  return e;
}

}  // namespace hearth::loop
