// GET /api/ps's answer, both ways (ollama.h): the server writes it, `hearth ps` reads it.
#include "api/fields.h"
#include "api/ollama.h"
#include "core/error.h"

namespace hearth::api {
namespace {

// The reader's errors say what the server sent wrong, not what a user typed.
template <typename T, typename Read>
T read_answer(Read read) {
  try {
    return read();
  } catch (const Error& e) {
    throw Error(ErrorKind::corrupt_file, std::string("GET /api/ps answered ") + e.what());
  }
}

ModelDetails read_details(const json::object& o) {
  ModelDetails d;
  d.parent_model = opt_string(o, "parent_model").value_or("");
  d.format = opt_string(o, "format").value_or("");
  d.family = opt_string(o, "family").value_or("");
  d.families = opt_string_list(o, "families").value_or(std::vector<std::string>{});
  d.parameter_size = opt_string(o, "parameter_size").value_or("");
  d.quantization_level = opt_string(o, "quantization_level").value_or("");
  return d;
}

RunningModel read_running_model(const json::object& o) {
  RunningModel m;
  m.name = opt_string(o, "name").value_or("");
  if (m.name.empty()) m.name = req_string(o, "model");
  auto count = [&o](std::string_view field) -> std::uint64_t {
    const auto v = opt_int(o, field).value_or(0);
    if (v < 0) bad_field(field, "0 or more");
    return static_cast<std::uint64_t>(v);
  };
  m.size = count("size");
  m.size_vram = count("size_vram");
  m.digest = opt_string(o, "digest").value_or("");
  if (const auto* d = opt_object(o, "details")) m.details = read_details(*d);
  m.expires_at = opt_string(o, "expires_at").value_or("");
  m.context_length = opt_int(o, "context_length").value_or(0);
  return m;
}

}  // namespace

json::object to_json(const ModelDetails& d) {
  json::value families = nullptr;
  if (!d.families.empty()) {
    json::array a;
    for (const auto& f : d.families) a.emplace_back(f);
    families = std::move(a);
  }
  return {{"parent_model", d.parent_model},   {"format", d.format},
          {"family", d.family},               {"families", std::move(families)},
          {"parameter_size", d.parameter_size}, {"quantization_level", d.quantization_level}};
}

json::object to_json(const RunningModel& m) {
  return {{"name", m.name},
          {"model", m.name},
          {"size", m.size},
          {"digest", m.digest},
          {"details", to_json(m.details)},
          {"expires_at", m.expires_at},
          {"size_vram", m.size_vram},
          {"context_length", m.context_length}};
}

json::object running_models_json(const std::vector<RunningModel>& models) {
  json::array list;
  for (const auto& m : models) list.emplace_back(to_json(m));
  return {{"models", std::move(list)}};
}

std::vector<RunningModel> read_running_models(const json::value& answer) {
  return read_answer<std::vector<RunningModel>>([&] {
    if (!answer.is_object()) throw Error(ErrorKind::invalid_input, "something that is not a JSON object");
    std::vector<RunningModel> out;
    const json::array* list = opt_array(answer.get_object(), "models");
    if (list == nullptr) return out;
    for (size_t i = 0; i < list->size(); ++i) {
      if (!(*list)[i].is_object()) bad_field("models[" + std::to_string(i) + "]", "an object");
      out.push_back(read_running_model((*list)[i].get_object()));
    }
    return out;
  });
}

}  // namespace hearth::api
