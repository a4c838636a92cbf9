// `hearth jobs ...`: the server's background training jobs, as a thin client of its API
// (server/routes_training.cpp) through HEARTH_HOST and HEARTH_API_KEY (cli/api_client.h):
//   hearth jobs list                           the jobs, newest first
//   hearth jobs start MODEL [--epochs N ...]   queue a job for a personal model
//   hearth jobs show ID                        one job: progress, loss, evaluation
//   hearth jobs cancel ID
//   hearth jobs deploy ID [--force]            the job's adapter becomes the model's next version
//   hearth jobs rollback MODEL                 back to the version served before
//   hearth jobs versions MODEL
//   hearth jobs compare MODEL [--job ID]       base and tuned side by side
//   hearth jobs schedule MODEL [--window TEXT] [--time-zone ZONE] [--off]
// (`hearth train BASE ...` is the direct, foreground trainer.)
#include <cstdio>
#include <memory>
#include <string>

#include <boost/json.hpp>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "core/error.h"

namespace hearth::cli {
namespace {

namespace json = boost::json;

std::string text_of(const json::value& v) {
  if (v.is_string()) return std::string(v.as_string());
  if (v.is_null()) return "-";
  if (v.is_double()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4g", v.as_double());
    return buf;
  }
  return json::serialize(v);
}

std::string field(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  return v ? text_of(*v) : "-";
}

// The personal model's id for a name ("tiny" or "tiny:latest") of the caller's.
std::int64_t model_id(const ApiClient& client, const std::string& name) {
  const json::value rows = client.get("/api/personal-models");
  const json::array* list = nullptr;
  if (rows.is_array()) list = &rows.as_array();
  else if (rows.is_object())
    if (const auto* m = rows.as_object().if_contains("models"); m && m->is_array()) list = &m->as_array();
  if (list)
    for (const auto& r : *list) {
      const std::string n(r.as_object().at("custom_name").as_string());
      if (n == name || n == name + ":latest") return r.as_object().at("id").to_number<std::int64_t>();
    }
  throw Error(ErrorKind::not_found, "you have no personal model named '" + name + "'");
}

void print_job_line(const json::object& j) {
  const json::object metrics = j.at("metrics").is_object() ? j.at("metrics").as_object() : json::object{};
  const json::object eval = j.at("eval").is_object() ? j.at("eval").as_object() : json::object{};
  std::string loss = metrics.contains("loss") ? text_of(metrics.at("loss")) : "-";
  std::string gate = eval.contains("better") ? (eval.at("better").as_bool() ? "better" : "not better") : "-";
  std::printf("%-6s %-10s %-24s %6.1f%%  loss %-8s %-11s %s\n", field(j, "id").c_str(),
              field(j, "status").c_str(), field(j, "model").c_str(),
              j.at("progress").to_number<double>(), loss.c_str(), gate.c_str(),
              field(j, "created_at").c_str());
}

void print_eval(const json::object& eval) {
  auto figures = [&](const char* name) {
    if (const auto* f = eval.if_contains(name); f && f->is_object())
      std::printf("  %-8s loss %s  perplexity %s\n", name, field(f->as_object(), "loss").c_str(),
                  field(f->as_object(), "perplexity").c_str());
  };
  std::printf("evaluation on %s held-out examples:\n", field(eval, "examples").c_str());
  figures("base");
  figures("served");
  figures("tuned");
  if (const auto* b = eval.if_contains("better"))
    std::printf("  verdict: %s\n", b->as_bool() ? "better than what is served" : "not better");
  if (const auto* s = eval.if_contains("samples"); s && s->is_array()) {
    int n = 0;
    for (const auto& sample : s->as_array()) {
      const json::object& o = sample.as_object();
      const json::array& prompt = o.at("prompt").as_array();
      std::printf("\n[%d] %s\n", ++n,
                  prompt.empty() ? "" : text_of(prompt.back().as_object().at("content")).c_str());
      std::printf("  expected: %s\n  base:     %s\n  tuned:    %s\n", field(o, "expected").c_str(),
                  field(o, "base").c_str(), field(o, "tuned").c_str());
    }
  }
}

struct JobsArgs {
  std::string id, model, window, time_zone;
  std::int64_t job = 0;
  std::int64_t epochs = 0, batch = 0, rank = 0, max_steps = 0, dataset = 0;
  double lr = 0, alpha = 0;
  bool force = false, off = false;
};

}  // namespace

void register_jobs(CLI::App& app) {
  auto a = std::make_shared<JobsArgs>();
  CLI::App* jobs = app.add_subcommand("jobs", "the server's background training jobs: list, start, "
                                              "show, cancel, deploy, rollback, compare, schedule");
  jobs->require_subcommand(1);

  jobs->add_subcommand("list", "the jobs, newest first")->callback([] {
    const json::value r = ApiClient().get("/api/training/jobs");
    const json::array& list = r.at("jobs").as_array();
    if (list.empty()) {
      std::printf("no training jobs yet (start one with `hearth jobs start MODEL`)\n");
      return;
    }
    std::printf("%-6s %-10s %-24s %7s  %-13s %-11s %s\n", "ID", "STATUS", "MODEL", "DONE", "LOSS",
                "GATE", "CREATED");
    for (const auto& j : list) print_job_line(j.as_object());
  });

  CLI::App* start = jobs->add_subcommand("start", "queue a fine-tuning job for a personal model");
  start->add_option("model", a->model, "your personal model's name")->required();
  start->add_option("--epochs", a->epochs, "passes over the data (default: auto)");
  start->add_option("--batch", a->batch, "sequences per step (default: what fits in memory)");
  start->add_option("--lr", a->lr, "peak learning rate (default: 2e-4)");
  start->add_option("--rank", a->rank, "LoRA rank (default: 16)");
  start->add_option("--alpha", a->alpha, "LoRA alpha (default: twice the rank)");
  start->add_option("--max-steps", a->max_steps, "stop after this many steps");
  start->add_option("--dataset", a->dataset, "a dataset version id (default: export now)");
  start->callback([a] {
    json::object h;
    if (a->epochs > 0) h["n_epochs"] = a->epochs;
    if (a->batch > 0) h["batch_size"] = a->batch;
    if (a->lr > 0) h["learning_rate"] = a->lr;
    if (a->rank > 0) h["rank"] = a->rank;
    if (a->alpha > 0) h["alpha"] = a->alpha;
    if (a->max_steps > 0) h["max_steps"] = a->max_steps;
    json::value body = json::object{{"model", a->model}, {"hyperparameters", h}};
    if (a->dataset > 0) body.as_object()["dataset_version"] = a->dataset;
    const json::value j = ApiClient().call("POST", "/api/training/start-job", &body);
    std::printf("queued training job %s for %s (%s examples); follow it with `hearth jobs show %s`\n",
                field(j.as_object(), "id").c_str(), field(j.as_object(), "model").c_str(),
                field(j.as_object(), "training_examples").c_str(), field(j.as_object(), "id").c_str());
  });

  CLI::App* show = jobs->add_subcommand("show", "one job: progress, loss and evaluation");
  show->add_option("id", a->id, "the job's id")->required();
  show->callback([a] {
    const json::object j = ApiClient().get("/api/training/jobs/" + a->id).as_object();
    std::printf("job %s: %s, %s\n", field(j, "id").c_str(), field(j, "model").c_str(),
                field(j, "status").c_str());
    const json::object& m = j.at("metrics").as_object();
    std::printf("  progress    %.1f%%  (step %s of %s)\n", j.at("progress").to_number<double>(),
                field(m, "step").c_str(), field(m, "total_steps").c_str());
    std::printf("  loss        %s  (held-out %s)\n", field(m, "loss").c_str(), field(m, "eval_loss").c_str());
    std::printf("  speed       %s tokens/s\n", field(m, "tokens_per_second").c_str());
    std::printf("  finishes    %s\n", field(j, "estimated_completion").c_str());
    std::printf("  examples    %s (dataset version %s)\n", field(j, "training_examples").c_str(),
                field(j, "dataset_version_id").c_str());
    if (!j.at("error").is_null()) std::printf("  error       %s\n", field(j, "error").c_str());
    if (!j.at("deployed_version").is_null())
      std::printf("  deployed as %s\n", field(j, "fine_tuned_model").c_str());
    if (j.at("eval").is_object() && !j.at("eval").as_object().empty()) print_eval(j.at("eval").as_object());
  });

  CLI::App* cancel = jobs->add_subcommand("cancel", "stop a queued or running job");
  cancel->add_option("id", a->id, "the job's id")->required();
  cancel->callback([a] {
    const json::object j = ApiClient().call("POST", "/api/training/jobs/" + a->id + "/cancel").as_object();
    std::printf("job %s: %s%s\n", a->id.c_str(), field(j, "status").c_str(),
                j.at("cancel_requested").as_bool() && field(j, "status") == "running"
                    ? " (it stops after the step in flight)" : "");
  });

  CLI::App* deploy = jobs->add_subcommand("deploy", "serve a completed job's adapter as the model's next version");
  deploy->add_option("id", a->job, "the job's id")->required();
  deploy->add_flag("--force", a->force, "deploy even when the evaluation found it no better");
  deploy->callback([a] {
    const json::value body = json::object{{"job_id", a->job}, {"force", a->force}};
    const json::object v = ApiClient().call("POST", "/api/training/deploy", &body).as_object();
    std::printf("%s now serves version %s (job %lld)\n", field(v, "model").c_str(),
                field(v, "version").c_str(), static_cast<long long>(a->job));
  });

  CLI::App* rollback = jobs->add_subcommand("rollback", "serve the version served before the current one");
  rollback->add_option("model", a->model, "your personal model's name")->required();
  rollback->callback([a] {
    const ApiClient client;
    const std::int64_t id = model_id(client, a->model);
    const json::object r =
        client.call("POST", "/api/personal-models/" + std::to_string(id) + "/rollback").as_object();
    const std::string v = field(r, "served_version");
    std::printf("%s now serves %s\n", field(r, "model").c_str(),
                v == "0" ? "its base model" : ("version " + v).c_str());
  });

  CLI::App* versions = jobs->add_subcommand("versions", "a personal model's fine-tuned versions");
  versions->add_option("model", a->model, "your personal model's name")->required();
  versions->callback([a] {
    const ApiClient client;
    const std::int64_t id = model_id(client, a->model);
    const json::object r = client.get("/api/personal-models/" + std::to_string(id) + "/versions").as_object();
    std::printf("%s serves version %s (0: the base)\n", field(r, "model").c_str(),
                field(r, "served_version").c_str());
    for (const auto& v : r.at("versions").as_array()) {
      const json::object& o = v.as_object();
      std::printf("  v%-3s %s job %-5s dataset %-5s %s\n", field(o, "version").c_str(),
                  o.at("serving").as_bool() ? "*" : " ", field(o, "job_id").c_str(),
                  field(o, "dataset_version_id").c_str(), field(o, "created_at").c_str());
    }
  });

  CLI::App* compare = jobs->add_subcommand("compare", "base and tuned side by side on held-out conversations");
  compare->add_option("model", a->model, "your personal model's name")->required();
  compare->add_option("--job", a->job, "a job's evaluation (default: the newest)");
  compare->callback([a] {
    const ApiClient client;
    const std::int64_t id = model_id(client, a->model);
    std::string path = "/api/personal-models/" + std::to_string(id) + "/compare";
    if (a->job > 0) path += "?job_id=" + std::to_string(a->job);
    const json::object r = client.get(path).as_object();
    std::printf("%s, job %s (serving version %s)\n", field(r, "model").c_str(),
                field(r, "job_id").c_str(), field(r, "served_version").c_str());
    print_eval(r.at("eval").as_object());
  });

  CLI::App* schedule = jobs->add_subcommand("schedule", "train a personal model every week in an off-peak window");
  schedule->add_option("model", a->model, "your personal model's name")->required();
  schedule->add_option("--window", a->window, "e.g. \"sunday 02:00-06:00\" (the default) or \"daily 01:00-05:00\"");
  schedule->add_option("--time-zone", a->time_zone, "IANA time zone, e.g. Europe/Berlin (default: UTC)");
  schedule->add_flag("--off", a->off, "turn the schedule off");
  schedule->callback([a] {
    const ApiClient client;
    const std::int64_t id = model_id(client, a->model);
    json::object body{{"enabled", !a->off}};
    if (!a->window.empty()) body["window"] = a->window;
    if (!a->time_zone.empty()) body["time_zone"] = a->time_zone;
    const json::value b = body;
    const json::object s =
        client.call("PUT", "/api/personal-models/" + std::to_string(id) + "/schedule", &b).as_object();
    if (!s.at("enabled").as_bool()) {
      std::printf("%s: weekly training is off\n", field(s, "model").c_str());
      return;
    }
    std::printf("%s trains in the window %s (%s)", field(s, "model").c_str(),
                field(s, "window").c_str(), field(s, "time_zone").c_str());
    if (const auto* n = s.if_contains("next_window"); n && n->is_object())
      std::printf(", next from %s", field(n->as_object(), "start").c_str());
    std::printf("\n");
  });
}

}  // namespace hearth::cli
