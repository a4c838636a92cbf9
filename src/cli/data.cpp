// `hearth data export` and `hearth data validate`: training data from kept conversations
// (data/data.h), without a running server.
//
//   hearth data export [--min-score 0.7] [--min-examples 100] [--allow-small] [--model M]
//                      [--since DATE] [--validation 0.1] [--redact-pii] [--seed N] [--user NAME]
//                      [--out DIR]
//       writes <out>/<time>-<hash>-train.jsonl (and -validation.jsonl) and prints the paths,
//       counts, content hash and dataset version. DIR defaults to $HEARTH_HOME/datasets, the user
//       to the machine's owner ("local": requests without an API key).
//   hearth data validate FILE.jsonl [--model M]
//       prints "line N: code: message" for every issue and a summary; with --model, token counts
//       per example with that model's tokenizer (each message's content, without template
//       tokens) and the examples longer than its context. Exit 0 without issues, 1 with some.
#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cli/accounts.h"
#include "cli/commands.h"
#include "cli/model_resolve.h"
#include "core/paths.h"
#include "data/data.h"
#include "engine/gguf/gguf.h"
#include "engine/model/arch.h"
#include "engine/tokenizer/tokenizer.h"
#include "library/local_user.h"

namespace hearth::cli {
namespace {

struct ExportCli {
  data::ExportOptions options;
  std::string since, user, out;
  long long seed = 0;
};

// "2026-11-01" (midnight UTC) or "2026-11-01T13:45[:30[.250]][Z]" (UTC).
db::Timestamp parse_since(const std::string& text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, ms = 0, used = 0;
  double s = 0;
  auto bad = [&] {
    return Error(ErrorKind::invalid_input,
                 "--since '" + text + "' is not a date: use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ");
  };
  if (std::sscanf(text.c_str(), "%4d-%2d-%2d%n", &y, &mo, &d, &used) != 3 || used != 10)
    throw bad();
  std::string rest = text.substr(10);
  if (!rest.empty()) {
    if (rest[0] != 'T' && rest[0] != ' ') throw bad();
    int n = 0;
    if (std::sscanf(rest.c_str() + 1, "%2d:%2d%n", &h, &mi, &n) != 2 || n != 5) throw bad();
    std::string tail = rest.substr(1 + 5);
    if (!tail.empty() && tail[0] == ':') {
      int m = 0;
      if (std::sscanf(tail.c_str() + 1, "%lf%n", &s, &m) != 1) throw bad();
      tail = tail.substr(1 + static_cast<std::size_t>(m));
    }
    if (tail != "" && tail != "Z") throw bad();
    if (h > 23 || mi > 59 || s < 0 || s >= 61) throw bad();
    ms = static_cast<int>(s * 1000);
  }
  using namespace std::chrono;
  year_month_day day{year{y}, month{static_cast<unsigned>(mo)},
                     std::chrono::day{static_cast<unsigned>(d)}};
  if (!day.ok()) throw bad();
  return time_point_cast<milliseconds>(sys_days{day}) + hours{h} + minutes{mi} + milliseconds{ms};
}

void run_export(ExportCli& o) {
  db::Database db = open_accounts_database();
  const std::int64_t user =
      o.user.empty() ? library::local_user_id(db) : require_user(db, o.user).id;
  if (!o.since.empty()) o.options.since = parse_since(o.since);
  o.options.seed = static_cast<std::uint64_t>(o.seed);
  o.options.allow_small_name = "--allow-small";
  const std::filesystem::path out =
      o.out.empty() ? paths::datasets() : std::filesystem::path(o.out);
  // Kept under HEARTH_HOME, the files are sealed like everything else the user wrote; a folder
  // the user named gets plain JSONL, for their own tools.
  o.options.seal_files = o.out.empty();
  data::ExportResult r = data::export_dataset(db, user, o.options, out);
  std::printf(
      "Exported %lld training and %lld validation examples (%lld weighted answers, %lld "
      "duplicates removed).\n",
      static_cast<long long>(r.train_examples), static_cast<long long>(r.validation_examples),
      static_cast<long long>(r.weighted_turns), static_cast<long long>(r.duplicates_removed));
  std::printf("  train:           %s\n", r.train_path.c_str());
  std::printf("  validation:      %s\n",
              r.validation_path.empty() ? "(none)" : r.validation_path.c_str());
  std::printf("  content hash:    sha256:%s\n", r.content_hash.c_str());
  std::printf("  dataset version: %lld\n", static_cast<long long>(r.dataset_version_id));
}

// The value at fraction q of a sorted list (nearest rank).
std::size_t percentile(const std::vector<std::size_t>& sorted, double q) {
  std::size_t rank = static_cast<std::size_t>(q * static_cast<double>(sorted.size()) + 0.999999);
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

void report_tokens(const data::ValidationReport& report, const std::string& model_text) {
  ResolvedModel model = resolve_model(model_text);
  gguf::File file = gguf::File::open(model.path);
  tokenizer::Tokenizer tok = tokenizer::Tokenizer::from_gguf(file);
  const std::int64_t context = model::describe(file, model::DescribeMode::as_stored).n_ctx_train;
  std::vector<std::pair<std::size_t, std::size_t>> counts;  // (line, tokens)
  for (const auto& example : report.examples) {
    std::size_t tokens = 0;
    for (const auto& [role, content] : example.messages)
      tokens += tok.encode(content, /*add_special=*/false, /*parse_special=*/false).size();
    counts.emplace_back(example.line, tokens);
  }
  std::printf("\nTokens per example (%s, message contents only):\n", model.display_name.c_str());
  if (counts.empty()) {
    std::printf("  no valid examples to count\n");
    return;
  }
  std::vector<std::size_t> sorted;
  for (const auto& c : counts) sorted.push_back(c.second);
  std::sort(sorted.begin(), sorted.end());
  std::printf("  examples %zu, min %zu, median %zu, p90 %zu, max %zu\n", sorted.size(),
              sorted.front(), percentile(sorted, 0.5), percentile(sorted, 0.9), sorted.back());
  if (context <= 0) {
    std::printf("  the model does not state its context length\n");
    return;
  }
  std::size_t over = 0;
  for (const auto& [line, tokens] : counts) {
    if (tokens <= static_cast<std::size_t>(context)) continue;
    ++over;
    std::printf("  line %zu: %zu tokens, more than the context of %lld (it would be cut)\n", line,
                tokens, static_cast<long long>(context));
  }
  std::printf("  %zu example%s longer than the context length %lld\n", over, over == 1 ? "" : "s",
              static_cast<long long>(context));
}

void run_validate(const std::string& file, const std::string& model) {
  data::ValidationReport report = data::validate_jsonl(file);
  std::map<std::string, std::size_t> per_code;
  for (const auto& issue : report.issues) {
    std::printf("line %zu: %s: %s\n", issue.line, issue.code.c_str(), issue.message.c_str());
    ++per_code[issue.code];
  }
  std::printf("%s: %zu example%s, %zu valid, %zu issue%s\n", file.c_str(), report.lines,
              report.lines == 1 ? "" : "s", report.examples.size(), report.issues.size(),
              report.issues.size() == 1 ? "" : "s");
  for (const auto& [code, n] : per_code) std::printf("  %-34s %zu\n", code.c_str(), n);
  if (!model.empty()) report_tokens(report, model);
  if (!report.issues.empty()) throw ExitStatus{1};
}

}  // namespace

void register_data(CLI::App& app) {
  auto* cmd = app.add_subcommand("data", "training data from your conversations");
  cmd->require_subcommand(1);

  auto o = std::make_shared<ExportCli>();
  auto* ex = cmd->add_subcommand("export", "write the best conversations as fine-tuning JSONL");
  ex->add_option("--min-score", o->options.min_score,
                 "answers scoring at least this get weight 1 (0..1)")
      ->capture_default_str();
  ex->add_option("--min-examples", o->options.min_examples,
                 "refuse with fewer qualifying conversations")
      ->capture_default_str();
  ex->add_flag("--allow-small", o->options.allow_small, "export even below --min-examples");
  ex->add_option("--model", o->options.model, "only conversations with this model (name:tag)");
  ex->add_option("--since", o->since, "only conversations updated since (YYYY-MM-DD or ISO, UTC)");
  ex->add_option("--validation", o->options.validation,
                 "fraction of conversations for the validation file (0..<1)")
      ->capture_default_str();
  ex->add_flag("--redact-pii", o->options.redact_pii,
               "replace e-mail addresses, phone numbers and secrets");
  ex->add_flag("--keep-thinking", o->options.keep_thinking,
               "keep answers' reasoning (<think>...</think> before the text) in the targets");
  ex->add_option("--seed", o->seed, "seed of the train/validation split")->capture_default_str();
  ex->add_option("--user", o->user, "whose conversations (default: the machine's owner)");
  ex->add_option("-o,--out", o->out,
                 "folder for plain JSONL files of your own (default: HEARTH_HOME/datasets, "
                 "encrypted)");
  ex->callback([o] { run_export(*o); });

  auto file = std::make_shared<std::string>();
  auto model = std::make_shared<std::string>();
  auto* val = cmd->add_subcommand("validate", "check a JSONL file against the fine-tuning format");
  val->add_option("file", *file, "the .jsonl file")->required();
  val->add_option("--model", *model,
                  "count tokens with this model's tokenizer (installed name or GGUF path)");
  val->callback([file, model] { run_validate(*file, *model); });
}

}  // namespace hearth::cli
