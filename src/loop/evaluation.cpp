// See evaluation.h.
#include "crypto/sealed_file.h"
#include "loop/evaluation.h"

#include <sstream>
#include <cmath>
#include <fstream>

#include <boost/json.hpp>

#include "core/error.h"
#include "engine/generate/runner.h"

namespace hearth::loop {
namespace {

namespace json = boost::json;

json::object figures(double loss) {
  return {{"loss", loss}, {"perplexity", std::exp(loss)}};
}

// A model's text as stored: without NUL characters, which PostgreSQL's text and JSONB cannot hold
// (invalid UTF-8 becomes U+FFFD when the JSON is written).
std::string storable(std::string text) {
  std::erase(text, '\0');
  return text;
}

// The whole greedy answer of one request in slot 0.
std::string answer(generate::ModelRunner& runner, const generate::Request& request) {
  runner.start(0, request, runner.n_ctx());
  std::string text;
  std::vector<generate::Output> out;
  for (;;) {
    out.clear();
    runner.step(out);
    for (const generate::Output& o : out) {
      if (o.failed) throw Error(o.error_kind, o.error);
      text += o.text;
      if (o.done) return storable(text + o.tail);
    }
  }
}

}  // namespace

json::object compare_losses(const train::Network& network, const train::TrainSettings& settings,
                            const std::vector<train::Example>& held_out,
                            const train::LoraAdapter& tuned,
                            const std::optional<ServedAdapter>& served) {
  json::object o{{"metric", "loss"}, {"examples", held_out.size()}};
  if (held_out.empty()) {
    o["better"] = false;
    o["note"] = "no held-out examples to compare on";
    return o;
  }
  auto loss_of = [&](const train::LoraAdapter& a) {
    return train::Trainer(network, a, settings).evaluate(held_out);
  };
  train::LoraAdapter base = tuned;
  for (auto& w : base.weights) std::fill(w.b.begin(), w.b.end(), 0.0f);
  const double base_loss = loss_of(base), tuned_loss = loss_of(tuned);
  o["base"] = figures(base_loss);
  o["tuned"] = figures(tuned_loss);
  json::object compared{{"version", 0}, {"loss", base_loss}};
  if (served) {
    const double served_loss = loss_of(served->adapter);
    json::object s = figures(served_loss);
    s["version"] = served->version;
    o["served"] = std::move(s);
    compared = {{"version", served->version}, {"loss", served_loss}};
  }
  const double against = compared.at("loss").as_double();
  o["compared_with"] = std::move(compared);
  // Better than what is served, and never worse than the base itself.
  o["better"] = tuned_loss < against && tuned_loss < base_loss;
  return o;
}

json::array answer_samples(const std::filesystem::path& base_model,
                           const std::filesystem::path& adapter,
                           const std::filesystem::path& validation_file, int n, int threads) {
  json::array samples;
  if (n <= 0 || validation_file.empty()) return samples;
  std::istringstream in(crypto::read_file(validation_file));
  std::vector<std::pair<std::vector<chat::ChatMessage>, std::string>> prompts;
  for (std::string line; prompts.size() < static_cast<size_t>(n) && std::getline(in, line);) {
    if (line.empty()) continue;
    const json::value parsed = json::parse(line);
    const json::array& messages = parsed.as_object().at("messages").as_array();
    std::vector<chat::ChatMessage> all;
    for (const auto& m : messages)
      all.push_back({std::string(m.at("role").as_string()),
                     storable(std::string(m.at("content").as_string()))});
    while (!all.empty() && all.back().role != "assistant") all.pop_back();
    if (all.size() < 2) continue;
    std::string expected = all.back().content;
    all.pop_back();
    prompts.emplace_back(std::move(all), std::move(expected));
  }
  generate::RunnerOptions options;
  options.n_ctx = 2048;
  options.threads = threads;
  auto base = generate::ModelRunner::load(base_model.string(), options);
  options.adapters = {{adapter.string(), 1.0f}};
  auto tuned = generate::ModelRunner::load(base_model.string(), options);
  for (const auto& [messages, expected] : prompts) {
    generate::Request r;
    r.messages = messages;
    r.sampling.temperature = 0;
    r.max_tokens = 64;
    json::array prompt;
    for (const auto& m : messages) prompt.push_back({{"role", m.role}, {"content", m.content}});
    samples.push_back({{"prompt", std::move(prompt)},
                       {"expected", expected},
                       {"base", answer(*base, r)},
                       {"tuned", answer(*tuned, r)}});
  }
  return samples;
}

}  // namespace hearth::loop
