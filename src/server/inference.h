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

// One choice's whole answer, for GenerationWriter::done().
struct ChoiceResult {
  // Everything generated (not streaming; nothing when streaming): the text, reasoning and tool
  // calls and, when asked, every token's logprobs.
  GenerationEvent whole;
  GenerationEvent end;  // its done event: finish_reason and its own timings
};

// How one API family writes a generation (see routes_openai.cpp, routes_ollama.cpp). A request
// may ask for several choices (OpenAI's `n`): each is its own sequence, and the writer hears of
// each by its index, in the order the choices produce output.
class GenerationWriter {
 public:
  virtual ~GenerationWriter() = default;
  // Where the chat was kept: {"conversation_id": N, "message_id": M}, set before the last
  // choice_done() and done() when the conversation is stored; writers put it into their final
  // JSON as "hearth".
  json::value hearth = nullptr;
  virtual bool streaming() const = 0;
  virtual std::string content_type() const = 0;  // of a streamed answer
  // Streaming: the bytes to send for a token event of choice `index` (its text, which may be
  // empty, and its tokens' logprobs when asked); "" sends nothing.
  virtual std::string piece(int index, const GenerationEvent& token) = 0;
  // Streaming: the bytes that end choice `index`, sent as it ends (others may still run).
  virtual std::string choice_done(int index, const GenerationEvent& end) = 0;
  // Streaming: the closing bytes once every choice ended; not streaming: the whole JSON body.
  // `usage` counts the prompt once and every choice's completion tokens.
  virtual std::string done(const std::vector<ChoiceResult>& choices, const Timings& usage) = 0;
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
// instead of this machine's scheduler; everything else is the same, except that logprobs are
// refused (Error(unsupported): the desktop protocol and remote engines do not carry them).
// `choices` (OpenAI's `n`, 1..Scheduler::num_parallel(), else Error(invalid_input) naming
// field 'n'): that many sequences of the same request, queued together so that they decode in
// the same batches; choice i samples with the request's seed + i, so each is reproducible on its
// own. A kept conversation keeps choice 0's answer. An error in one choice ends the response.
Response run_generation(ApiContext& api, const Request& http_request, GenerationRequest request,
                        std::shared_ptr<GenerationWriter> writer,
                        std::shared_ptr<ConversationCapture> capture = nullptr,
                        std::shared_ptr<GenerationTarget> target = nullptr, int choices = 1);

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
