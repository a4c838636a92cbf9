// Fields a client may send that hearth does not act on. Where ignoring one would change what the
// client gets (a bias on tokens, audio, another sampler), it is refused: Error(unsupported) naming
// the field. Fields that only tune a service hearth does not have (user, store, metadata,
// service_tier, prompt caching keys, prediction hints, GPU and thread counts) are ignored; the
// README's API section lists both kinds.
#pragma once

#include <boost/json.hpp>

namespace hearth::api {

// /v1/chat/completions (chat) and /v1/completions.
void refuse_unsupported_openai(const boost::json::object& body, bool chat);
// /api/chat and /api/generate: the request and its options.
void refuse_unsupported_ollama(const boost::json::object& body);

}  // namespace hearth::api
