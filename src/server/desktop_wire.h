// The desktop protocol's messages (docs/desktop-protocol.md), shared by the hub (desktop_hub.h)
// and the agent (agent/agent.h): a generation request to JSON and back, usage, error kinds.
// Reading is strict: a field of the wrong type is Error(invalid_input) naming it, so a broken or
// hostile peer is refused rather than half understood.
#pragma once

#include <boost/json.hpp>

#include <string>
#include <string_view>

#include "server/scheduler.h"

namespace hearth::server::wire {

namespace json = boost::json;

inline constexpr int kProtocol = 1;
inline constexpr int kHeartbeatSeconds = 5;

// {"type": "infer", "id", "model", "messages" | "prompt", "options"}: everything the agent needs
// to run `request` on its own engine (request.model is the name the agent knows).
json::object infer_message(const std::string& id, const GenerationRequest& request);
// The request of an infer message (model, messages or prompt, sampling, limits); the caller
// resolves the model on its own machine. Error(invalid_input) for a malformed message.
GenerationRequest request_from_infer(const json::object& message);

// A token event as the agent sends it ({"type": "piece", "id", "text", "reasoning",
// "tool_calls"}), and back into an event (Error(invalid_input) for malformed calls).
json::object piece_json(const std::string& id, const GenerationEvent& event);
void piece_from(const json::object& message, GenerationEvent& event);

json::object usage_json(const Timings& timings);
Timings timings_from(const json::value& usage);  // missing fields are 0

// An error kind's wire name ("not_found") and back; unknown names are `unavailable`.
std::string_view kind_name(ErrorKind kind);
ErrorKind kind_from(std::string_view name);

// Field readers for peers' messages: Error(invalid_input) naming `key` when present with another
// type; the fallback when absent.
std::string string_field(const json::object& o, std::string_view key, std::string fallback = {});
std::int64_t int_field(const json::object& o, std::string_view key, std::int64_t fallback = 0);
const json::object& object_field(const json::object& o, std::string_view key);  // {} when absent

// "name" -> "name:latest"; a name with a tag stays.
std::string full_model_name(std::string_view name);

}  // namespace hearth::server::wire
