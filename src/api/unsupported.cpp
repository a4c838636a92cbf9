// See unsupported.h.
#include "api/unsupported.h"

#include <string>

#include "core/error.h"

namespace hearth::api {
namespace {

namespace json = boost::json;

[[noreturn]] void refuse(const std::string& field, const std::string& why) {
  throw Error(ErrorKind::unsupported, "field '" + field + "' is not supported: " + why);
}

bool present(const json::object& body, const char* field) {
  const auto* v = body.if_contains(field);
  if (v == nullptr || v->is_null()) return false;
  if (v->is_object()) return !v->get_object().empty();
  if (v->is_array()) return !v->get_array().empty();
  if (v->is_string()) return !v->get_string().empty();
  return true;
}

// A number option that changes sampling when it is not its neutral value.
void neutral(const json::object& options, const char* field, double value, const char* why) {
  const auto* v = options.if_contains(field);
  if (v == nullptr || v->is_null() || !v->is_number()) return;
  if (v->to_number<double>() != value) refuse(std::string("options.") + field, why);
}

}  // namespace

void refuse_unsupported_openai(const json::object& body, bool chat) {
  if (present(body, "logit_bias")) refuse("logit_bias", "token biases are not applied");
  if (present(body, "audio")) refuse("audio", "hearth answers in text only");
  if (const auto* m = body.if_contains("modalities"); m && m->is_array())
    for (const auto& x : m->get_array())
      if (!x.is_string() || x.get_string() != "text")
        refuse("modalities", "hearth answers in text only");
  if (present(body, "web_search_options")) refuse("web_search_options", "hearth does not search the web");
  if (!chat)
    if (const auto* b = body.if_contains("best_of"); b && b->is_number() && b->to_number<double>() > 1)
      refuse("best_of", "one completion is generated per choice (use n)");
}

void refuse_unsupported_ollama(const json::object& body) {
  if (present(body, "template"))
    refuse("template", "hearth renders each model family's own chat format and does not take a "
                       "template per request");
  if (present(body, "context"))
    refuse("context", "the older token context of /api/generate is not kept; send the messages "
                      "to /api/chat instead");
  const auto* o = body.if_contains("options");
  if (o == nullptr || !o->is_object()) return;
  const auto& options = o->get_object();
  neutral(options, "mirostat", 0, "Mirostat sampling is not implemented (use top_k, top_p, min_p)");
  neutral(options, "typical_p", 1, "typical sampling is not implemented (use top_p or min_p)");
  neutral(options, "tfs_z", 1, "tail-free sampling is not implemented (use min_p)");
}

}  // namespace hearth::api
