// The minimal remote route: a chat for a personal model version trained by a remote API
// (loop/remote_job.h) is forwarded to that API's /chat/completions with the user's key and the
// remote model's name, and its answer (JSON, or the SSE stream as it comes) is passed back.
// Hearth does not keep these conversations (the remote has them); usage is not counted here.
#pragma once

#include <boost/json/object.hpp>

#include "api/ollama.h"
#include "library/library.h"
#include "loop/remote_settings.h"
#include "server/api.h"

namespace hearth::server {

class ResponseStream;

// `body` is the request's OpenAI chat body; `model` resolved to a remote version (remote()).
// Refused with 503 when the user's remote trainer settings are gone or now name another base URL
// (the key is only ever sent where the user configured it).
Response forward_remote_chat(ApiContext& api, const Request& http, boost::json::object body,
                             const library::ResolvedModel& model);

// Ollama's /api/chat for a remote version: the request as an OpenAI chat (messages; temperature,
// top_p, seed, stop, num_predict as max_tokens), the answer in Ollama's shape (one JSON object,
// or NDJSON lines made from the remote's SSE chunks; durations are 0: the remote does not say).
Response forward_remote_ollama_chat(ApiContext& api, const Request& http,
                                    const api::ChatRequest& chat,
                                    const library::ResolvedModel& model);

// A forwarded chat that failed: a stream already started just ends (its client has part of the
// answer); otherwise the answer is a 503 naming the failure. `model` names it in the log.
void end_failed_forwarding(ResponseStream& out, bool started, const std::string& path,
                           const std::string& model, const std::exception& e);

// The user's remote access for `model`, or Error(unavailable) as above.
loop::RemoteAccess remote_access_for(ApiContext& api, const Request& http,
                                     const library::ResolvedModel& model);

}  // namespace hearth::server
