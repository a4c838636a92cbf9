// See options.h.
#include "api/options.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "api/fields.h"
#include "core/error.h"
#include "core/json_text.h"

namespace hearth::api {
namespace {

constexpr std::array<std::string_view, 13> kNames = {
    "temperature",      "top_k",       "top_p",  "min_p", "repeat_penalty",
    "repeat_last_n",    "presence_penalty", "frequency_penalty", "seed", "stop",
    "num_ctx",          "num_predict", "num_gpu"};

std::optional<std::int64_t> int_at_least(const json::object& o, std::string_view field,
                                         std::int64_t lo) {
  const auto v = opt_int(o, field);
  if (v && *v < lo) bad_field(field, number_text(static_cast<double>(lo)) + " or more");
  return v;
}

}  // namespace

bool Options::empty() const { return *this == Options{}; }

Options read_options(const json::object& o, UnknownOptions unknown) {
  if (unknown == UnknownOptions::refuse)
    for (const auto& [key, value] : o)
      if (std::find(kNames.begin(), kNames.end(), std::string_view(key)) == kNames.end()) {
        std::string known;
        for (auto name : kNames) known += (known.empty() ? "" : ", ") + std::string(name);
        throw Error(ErrorKind::invalid_input,
                    "unknown option '" + std::string(key) + "' (known: " + known + ")");
      }
  Options out;
  out.temperature = opt_number_in(o, "temperature", 0, 100);
  out.top_k = int_at_least(o, "top_k", 0);
  out.top_p = opt_number_in(o, "top_p", 0, 1);
  out.min_p = opt_number_in(o, "min_p", 0, 1);
  out.repeat_penalty = opt_number_in(o, "repeat_penalty", 1e-6, 100);
  out.repeat_last_n = int_at_least(o, "repeat_last_n", -1);
  out.presence_penalty = opt_number_in(o, "presence_penalty", -100, 100);
  out.frequency_penalty = opt_number_in(o, "frequency_penalty", -100, 100);
  out.seed = opt_int(o, "seed");
  out.stop = opt_string_list(o, "stop");
  out.num_ctx = opt_int(o, "num_ctx");
  if (out.num_ctx && (*out.num_ctx < 1 || *out.num_ctx > (1 << 24)))
    bad_field("num_ctx", "between 1 and 16777216");
  out.num_predict = int_at_least(o, "num_predict", -2);
  out.num_gpu = int_at_least(o, "num_gpu", -1);
  return out;
}

json::object to_json(const Options& o) {
  json::object out;
  auto put = [&out](std::string_view name, const auto& v) {
    if (v) out[name] = *v;
  };
  put("temperature", o.temperature);
  put("top_k", o.top_k);
  put("top_p", o.top_p);
  put("min_p", o.min_p);
  put("repeat_penalty", o.repeat_penalty);
  put("repeat_last_n", o.repeat_last_n);
  put("presence_penalty", o.presence_penalty);
  put("frequency_penalty", o.frequency_penalty);
  put("seed", o.seed);
  if (o.stop) {
    json::array stop;
    for (const auto& s : *o.stop) stop.emplace_back(s);
    out["stop"] = std::move(stop);
  }
  put("num_ctx", o.num_ctx);
  put("num_predict", o.num_predict);
  put("num_gpu", o.num_gpu);
  return out;
}

Options overlay(Options base, const Options& over) {
  auto take = [](auto& into, const auto& from) {
    if (from) into = from;
  };
  take(base.temperature, over.temperature);
  take(base.top_k, over.top_k);
  take(base.top_p, over.top_p);
  take(base.min_p, over.min_p);
  take(base.repeat_penalty, over.repeat_penalty);
  take(base.repeat_last_n, over.repeat_last_n);
  take(base.presence_penalty, over.presence_penalty);
  take(base.frequency_penalty, over.frequency_penalty);
  take(base.seed, over.seed);
  take(base.stop, over.stop);
  take(base.num_ctx, over.num_ctx);
  take(base.num_predict, over.num_predict);
  take(base.num_gpu, over.num_gpu);
  return base;
}

std::string parameters_text(const Options& options) {
  std::string out;
  for (const auto& [key, value] : to_json(options)) {
    const json::array values = value.is_array() ? value.get_array() : json::array{value};
    for (const auto& v : values) {
      std::string padded(key);
      padded.resize(std::max<size_t>(padded.size() + 1, 30), ' ');
      out += padded + format_json(v) + "\n";
    }
  }
  return out;
}

}  // namespace hearth::api
