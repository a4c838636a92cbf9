// See hyperparameters.h.
#include "loop/hyperparameters.h"

#include <algorithm>
#include <cmath>
#include <string>

#include <boost/json.hpp>

#include "core/error.h"

namespace hearth::loop {
namespace {

namespace json = boost::json;

[[noreturn]] void bad(const std::string& name, const std::string& what) {
  throw Error(ErrorKind::invalid_input, "hyperparameter '" + name + "' " + what);
}

bool is_auto(const json::value& v) { return v.is_string() && v.as_string() == "auto"; }

std::optional<std::int64_t> read_int(const json::object& o, const std::string& name,
                                     std::int64_t lo, std::int64_t hi) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr || v->is_null() || is_auto(*v)) return std::nullopt;
  double d = 0;
  if (v->is_int64()) d = static_cast<double>(v->as_int64());
  else if (v->is_uint64()) d = static_cast<double>(v->as_uint64());
  else if (v->is_double()) d = v->as_double();
  else bad(name, "must be a whole number or \"auto\"");
  if (d != std::floor(d)) bad(name, "must be a whole number or \"auto\"");
  if (d < static_cast<double>(lo) || d > static_cast<double>(hi))
    bad(name, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
  return static_cast<std::int64_t>(d);
}

std::optional<double> read_number(const json::object& o, const std::string& name, double hi) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr || v->is_null() || is_auto(*v)) return std::nullopt;
  if (!v->is_number()) bad(name, "must be a number or \"auto\"");
  const double d = v->to_number<double>();
  if (!std::isfinite(d) || d <= 0 || d > hi)
    bad(name, "must be above 0 and at most " + json::serialize(json::value(hi)));
  return d;
}

json::value or_auto(const auto& v) {
  if (!v) return json::string("auto");
  return json::value(*v);
}

}  // namespace

Hyperparameters read_hyperparameters(const json::object& o) {
  static const char* kKnown[] = {"n_epochs", "batch_size", "learning_rate_multiplier",
                                 "learning_rate", "rank", "alpha", "max_steps"};
  for (const auto& [key, value] : o) {
    (void)value;
    if (std::none_of(std::begin(kKnown), std::end(kKnown),
                     [&](const char* k) { return key == k; }))
      throw Error(ErrorKind::invalid_input,
                  "unknown hyperparameter '" + std::string(key) +
                      "' (known: n_epochs, batch_size, learning_rate_multiplier, learning_rate, "
                      "rank, alpha, max_steps)");
  }
  Hyperparameters h;
  h.n_epochs = read_int(o, "n_epochs", 1, 50);
  h.batch_size = read_int(o, "batch_size", 1, 256);
  h.learning_rate_multiplier = read_number(o, "learning_rate_multiplier", 100);
  h.learning_rate = read_number(o, "learning_rate", 1);
  h.rank = read_int(o, "rank", 1, 256);
  h.alpha = read_number(o, "alpha", 4096);
  h.max_steps = read_int(o, "max_steps", 1, 1'000'000);
  return h;
}

Hyperparameters parse_hyperparameters(const json::object& body) {
  const json::object* found = nullptr;
  if (const json::value* h = body.if_contains("hyperparameters"); h && !h->is_null()) {
    if (!h->is_object()) throw Error(ErrorKind::invalid_input, "'hyperparameters' must be an object");
    found = &h->as_object();
  }
  if (const json::value* m = body.if_contains("method"); m && !m->is_null()) {
    if (!m->is_object()) throw Error(ErrorKind::invalid_input, "'method' must be an object");
    const json::object& method = m->as_object();
    if (const json::value* type = method.if_contains("type");
        type && !(type->is_string() && type->as_string() == "supervised"))
      throw Error(ErrorKind::invalid_input,
                  "only the \"supervised\" fine-tuning method is supported");
    if (const json::value* s = method.if_contains("supervised"); s && s->is_object())
      if (const json::value* h = s->as_object().if_contains("hyperparameters"); h && !h->is_null()) {
        if (!h->is_object())
          throw Error(ErrorKind::invalid_input,
                      "'method.supervised.hyperparameters' must be an object");
        found = &h->as_object();
      }
  }
  return found ? read_hyperparameters(*found) : Hyperparameters{};
}

json::object to_json(const Hyperparameters& h) {
  return {{"n_epochs", or_auto(h.n_epochs)},
          {"batch_size", or_auto(h.batch_size)},
          {"learning_rate_multiplier", or_auto(h.learning_rate_multiplier)},
          {"learning_rate", or_auto(h.learning_rate)},
          {"rank", or_auto(h.rank)},
          {"alpha", or_auto(h.alpha)},
          {"max_steps", or_auto(h.max_steps)}};
}

TrainingSettings resolve(const Hyperparameters& h, std::int64_t examples, std::int64_t batch) {
  TrainingSettings s;
  s.batch = std::max<std::int64_t>(1, batch);
  // Small data sets need more passes to show; large ones fewer (each pass is long).
  s.epochs = h.n_epochs.value_or(examples <= 300 ? 3 : examples <= 3000 ? 2 : 1);
  s.rank = h.rank.value_or(16);
  s.alpha = h.alpha.value_or(2.0 * static_cast<double>(s.rank));
  s.learning_rate =
      h.learning_rate.value_or(kBaseLearningRate * h.learning_rate_multiplier.value_or(1.0));
  const std::int64_t per_epoch = (std::max<std::int64_t>(1, examples) + s.batch - 1) / s.batch;
  s.steps = std::max<std::int64_t>(1, s.epochs * per_epoch);
  if (h.max_steps) s.steps = std::min(s.steps, *h.max_steps);
  return s;
}

json::object to_json(const TrainingSettings& s) {
  return {{"n_epochs", s.epochs},  {"batch_size", s.batch}, {"rank", s.rank},
          {"alpha", s.alpha},      {"learning_rate", s.learning_rate},
          {"steps", s.steps},      {"max_seq", s.max_seq}};
}

}  // namespace hearth::loop
