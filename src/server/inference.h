// What the OpenAI and Ollama inference routes share: building a GenerationRequest from a body's
// options, turning the scheduler's events into a streamed or whole answer, keep_alive parsing
// and usage bookkeeping.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "api/options.h"
#include "server/api.h"
#include "server/json_util.h"
#include "server/routing.h"
#include "server/scheduler.h"

namespace hearth::server {

// Applies checked options (api/options.h: a model's stored ones with a request's over them).
void apply_options(const api::Options& options, GenerationRequest& request);

// A fresh random seed when the request gave none.
std::uint64_t random_seed();

class ConversationCapture;

// How one API family writes a generation (see routes_openai.cpp, routes_ollama.cpp).
class GenerationWriter {
 public:
  virtual ~GenerationWriter() = default;
  // Where the chat was kept: {"conversation_id": N, "message_id": M}, set before done() when
  // the conversation is stored; writers put it into their final JSON as "hearth".
  json::value hearth = nullptr;
  virtual bool streaming() const = 0;
  virtual std::string content_type() const = 0;  // of a streamed answer
  // Streaming: the bytes to send for a token event's text, reasoning and tool calls (calls
  // already have their ids; "" sends nothing).
  virtual std::string piece(const GenerationEvent& event) = 0;
  // Streaming: the closing bytes; not streaming: the whole JSON body. `whole` holds everything
  // generated (text, reasoning, calls; not streaming) or nothing (streaming).
  virtual std::string done(const GenerationEvent& whole, const GenerationEvent& event) = 0;
  // Streaming, after the head was sent: an error line/event.
  virtual std::string midstream_error(const std::string& message) = 0;
};

// The resolved model into the request: its name, weights and, for a fine-tuned version, its
// adapter on top of the base (the base stays loaded once for all its versions).
void use_model(GenerationRequest& request, const library::ResolvedModel& model);
// The model's default system prompt (its manifest's "system", set by POST /api/create) for a
// request that brings none: a first system message, or generate's `system`. run_generation does it.
void apply_default_system(GenerationRequest& request);

// Queues the generation and returns the Response that the scheduler's events will fill. The
// head is sent with the first token (or the end), so an error found before any output (model
// cannot load, prompt too long) still gets its proper status and the API family's error shape.
// Counts usage for the caller when the generation ends.
// With a capture (conversation_capture.h) the chat is stored only once output begins (the
// first token or the end): a request the scheduler refuses (prompt longer than the context,
// model that cannot load) stores nothing; the answer is kept when the generation ends. Those
// writes, and the output that carries their ids, run on api.background, off the model's loop.
// With a target (routing.h) the generation runs there (a desktop agent, a remote engine)
// instead of this machine's scheduler; everything else is the same.
Response run_generation(ApiContext& api, const Request& http_request, GenerationRequest request,
                        std::shared_ptr<GenerationWriter> writer,
                        std::shared_ptr<ConversationCapture> capture = nullptr,
                        std::shared_ptr<GenerationTarget> target = nullptr);

// Starts keeping a chat request (see conversation_capture.h); nullptr when not stored.
// `body` is the request's JSON (it may name the conversation: "hearth": {"conversation_id"}).
std::shared_ptr<ConversationCapture> capture_chat(ApiContext& api, const Request& http_request,
                                                  const json::object& body,
                                                  const GenerationRequest& request,
                                                  const std::string& source);

// Resolves the model for the caller, queues the embeddings and returns the Response that
// `answer` (called on the model's thread with a successful result) fills; errors come back in
// the path's API shape. Counts usage.
Response run_embeddings(ApiContext& api, const Request& http_request, const std::string& model,
                        EmbeddingRequest request,
                        std::function<Response(const EmbeddingResult&)> answer);

// Records a finished request's token counts and speed for the caller's model (database).
void record_usage(ApiContext& api, std::int64_t user_id, const std::string& model,
                  const Timings& timings);

// "chatcmpl-" + 24 random base62 characters, etc.
std::string random_id(std::string_view prefix);

}  // namespace hearth::server
