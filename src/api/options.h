// A model's options: Ollama's request "options" and, with the same names and checks, the default
// options stored with an installed model (its manifest's "parameters", store/store.h; set through
// PUT /api/personal-models/{id}). A request's options go over the stored ones, field by field.
//
//   temperature 0..100, top_k >= 0, top_p 0..1, min_p 0..1, repeat_penalty 1e-6..100,
//   repeat_last_n >= -1 (-1: the whole context), presence_penalty and frequency_penalty
//   -100..100, seed (negative: a random one), stop (a string or a list), num_ctx 1..16777216,
//   num_predict >= -2 (-1 and -2: no limit), num_gpu >= -1 (layers on the GPU when the model
//   loads, as Ollama's; -1: the gpu_layers setting, 0: the CPU, more than the model has: all).
#pragma once

#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hearth::api {

struct Options {
  std::optional<double> temperature;
  std::optional<std::int64_t> top_k;
  std::optional<double> top_p;
  std::optional<double> min_p;
  std::optional<double> repeat_penalty;
  std::optional<std::int64_t> repeat_last_n;
  std::optional<double> presence_penalty;
  std::optional<double> frequency_penalty;
  std::optional<std::int64_t> seed;
  std::optional<std::vector<std::string>> stop;
  std::optional<std::int64_t> num_ctx;
  std::optional<std::int64_t> num_predict;
  std::optional<std::int64_t> num_gpu;

  bool empty() const;
  bool operator==(const Options&) const = default;
};

// What read_options does with a key it does not know.
enum class UnknownOptions {
  ignore,  // a request's options: Ollama's clients send some hearth has no use for
           // (num_thread, mirostat, ...), and Ollama ignores them too
  refuse,  // options to store: a typo would otherwise be kept and silently never apply
};

// The object's options, each checked; Error(invalid_input) naming the field ("field 'top_k'
// must be 0 or more").
Options read_options(const boost::json::object& object, UnknownOptions unknown);

// The set options as an object (absent ones left out), in the order of the struct.
boost::json::object to_json(const Options& options);

// `over`'s set fields over `base`'s.
Options overlay(Options base, const Options& over);

// Ollama's "parameters" text of /api/show: one "name value" line per set option, the name padded
// to 30 columns, a list giving one line per item (stop "<|eot_id|>" twice for two stops).
std::string parameters_text(const Options& options);

}  // namespace hearth::api
