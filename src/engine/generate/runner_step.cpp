// ModelRunner's sequences: starting one, a decode step over all of them, and what happens to
// each sequence's logits (sampling, the JSON constraint, detokenizing, stop strings, the limits).
#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/generate/logprobs.h"
#include "engine/generate/sequence.h"

namespace hearth::generate {

int ModelRunner::start(int slot, const Request& request, int limit) {
  const auto s = static_cast<size_t>(slot);
  std::vector<int32_t> tokens =
      tokenizer().encode(render(request), /*add_special=*/false);
  if (tokens.empty()) throw Error(ErrorKind::invalid_input, "the prompt is empty");
  if (static_cast<int>(tokens.size()) > limit)
    throw Error(ErrorKind::invalid_input, "the prompt is " + std::to_string(tokens.size()) +
                                              " tokens but the model's context is " +
                                              std::to_string(limit) +
                                              " tokens; shorten the prompt or raise num_ctx");
  // The request's adapters, loaded and checked before anything changes (the slot stays free on
  // an error). The cached tokens were computed with the slot's previous adapters: reusable only
  // when those are the same files (same loaded copy) at the same scales.
  std::vector<model::AppliedLora> adapters = load_adapters(request);
  // The JSON constraint's schema, compiled before anything changes (an unsupported or malformed
  // schema is the request's error).
  std::shared_ptr<const JsonSchema> schema;
  const bool chat = !request.messages.empty() || request.apply_template;
  const chat::ChatOptions chat_options = chat_.with_model(request.chat);
  if (chat && chat_options.forced())  // a forced call: its JSON, held to the tools' schemas
    schema = compile_json_schema(chat::forced_call_schema(chat_.format(), chat_options));
  else if (!request.json_schema.empty()) schema = compile_json_schema(request.json_schema);
  else if (request.json_object) schema = any_object_schema();
  const std::vector<model::AppliedLora>& before = ctx_->sequence_adapters(slot);
  const bool same_adapters =
      std::equal(adapters.begin(), adapters.end(), before.begin(), before.end(),
                 [](const model::AppliedLora& a, const model::AppliedLora& b) {
                   return a.adapter == b.adapter && a.scale == b.scale;
                 });
  auto q = std::make_unique<Sequence>(request, tokenizer(), model_->n_vocab());
  if (chat) q->reply.emplace(chat_.format(), chat_options);
  if (!same_adapters) ctx_->set_sequence_adapters(slot, std::move(adapters));
  if (options_.keep_conversation && seqs_[s]) q->sampler = std::move(seqs_[s]->sampler);
  // Reuse the cached tokens the prompt begins with and forget the rest (an earlier answer often
  // tokenizes differently once rendered into the history); never another owner's
  // (runner_cache.cpp says which cells qualify).
  auto& cached = cached_[s];
  const bool same_owner = owner_[s] == request.cache_owner;
  size_t common = same_adapters && same_owner ? reusable(s, tokens) : 0;
  if (common < cached.size()) {
    // A sliding-window model may keep fewer (none) when the cut is older than its window.
    common = static_cast<size_t>(ctx_->keep_prefix(slot, static_cast<int>(common)));
    cached.resize(common);
  }
  exact_[s] = std::min(exact_[s], common);
  owner_[s] = request.cache_owner;
  slot_adapters_[s] = request.adapters;
  used_[s] = ++clock_;
  q->prompt = std::move(tokens);
  q->fed = common;
  q->limit = limit;
  q->running = true;
  if (schema) {
    if (!json_vocab_) json_vocab_ = std::make_shared<JsonVocab>(tokenizer());
    q->json.emplace(std::move(schema), json_vocab_);
  }
  const int n = static_cast<int>(q->prompt.size());
  seqs_[s] = std::move(q);
  return n;
}

void ModelRunner::step(std::vector<Output>& out) {
  // One batch: every generating sequence's next token, then prompt chunks up to the budget.
  // A prompt is cut into chunks of max_batch tokens counted from its start, whatever else runs:
  // with batch-invariant decoding (context.h) a sequence's numbers depend on how its prompt was
  // cut, so the cut must not depend on the other sequences. Whole chunks only. A prompt that
  // reuses cached tokens starts in the middle of a chunk: its first chunk ends where the cold
  // run's does (runner_cache.cpp).
  std::vector<model::BatchEntry> batch;
  std::vector<int> row_slot;  // the sequence of each logits row, in batch order
  for (size_t s = 0; s < seqs_.size(); ++s) {
    Sequence* q = seqs_[s].get();
    if (!q || !q->running || !q->generating) continue;
    batch.push_back({q->next, q->pos++, static_cast<int32_t>(s), true});
    row_slot.push_back(static_cast<int>(s));
  }
  const auto chunk = static_cast<size_t>(std::max(1, options_.max_batch));
  size_t budget = chunk;
  struct Fed {
    size_t slot, from, n;
  };
  std::vector<Fed> fed_chunks;  // the prompt chunks of this step
  for (size_t s = 0; s < seqs_.size() && budget > 0; ++s) {
    Sequence* q = seqs_[s].get();
    if (!q || !q->running || q->generating) continue;
    size_t n = std::min(chunk, q->prompt.size() - q->fed);
    if (options_.batch_invariant) n = std::min(n, chunk - q->fed % chunk);
    if (n > budget) continue;  // its next chunk waits for the next step
    fed_chunks.push_back({s, q->fed, n});
    for (size_t i = 0; i < n; ++i) {
      const size_t at = q->fed + i;
      const bool last = at + 1 == q->prompt.size();
      batch.push_back({q->prompt[at], static_cast<int32_t>(at), static_cast<int32_t>(s), last});
      if (last) row_slot.push_back(static_cast<int>(s));
    }
    q->fed += n;
    budget -= n;
  }
  if (batch.empty()) return;

  model::Logits logits;
  try {
    logits = ctx_->decode(batch);
  } catch (const std::exception& err) {
    // Nothing was added; every sequence in this batch ends with the error.
    std::vector<bool> hit(seqs_.size());
    for (const auto& b : batch) hit[static_cast<size_t>(b.seq_id)] = true;
    for (size_t s = 0; s < seqs_.size(); ++s)
      if (hit[s] && seqs_[s]) {
        Output o;
        o.slot = static_cast<int>(s);
        o.done = o.failed = true;
        o.error = std::string("decoding failed: ") + err.what();
        out.push_back(std::move(o));
        ctx_->remove_sequence(static_cast<int>(s));
        cached_[s].clear();
        exact_[s] = 0;
        seqs_[s].reset();
      }
    return;
  }
  // What the cache now holds, for keep_conversation's reuse.
  for (const auto& b : batch) cached_[static_cast<size_t>(b.seq_id)].push_back(b.token);
  // Chunks of two or more went through the many-token kernels: reusable exactly.
  for (const Fed& f : fed_chunks)
    if (f.n >= 2 && exact_[f.slot] == f.from) exact_[f.slot] += f.n;
  for (size_t r = 0; r < row_slot.size(); ++r) take(row_slot[r], logits[r], out);
}

void ModelRunner::stop(int slot) {
  if (seqs_[static_cast<size_t>(slot)]) drop(slot);
}

void ModelRunner::drop(int slot) {
  const auto s = static_cast<size_t>(slot);
  if (options_.keep_conversation) {
    seqs_[s]->running = false;  // its cells and sampler stay for the next turn
    return;
  }
  if (options_.prompt_cache) {  // its cells stay for a later request of the same owner
    seqs_[s].reset();
    used_[s] = ++clock_;
    return;
  }
  ctx_->remove_sequence(slot);
  cached_[s].clear();
  exact_[s] = 0;
  seqs_[s].reset();
}

int ModelRunner::budget(const Sequence& q) const {
  // This token plus one more per position left to decode; max_tokens when it is smaller.
  int left = q.limit - q.pos + 1;
  if (q.request.max_tokens > 0) left = std::min(left, q.request.max_tokens - q.n_generated);
  return left;
}

int32_t ModelRunner::choose(Sequence& q, std::span<const float> logits) {
  if (!q.json) return q.sampler.sample(logits);
  return q.json->choose(q.sampler, logits, budget(q));
}

void ModelRunner::take(int slot, std::span<const float> logits, std::vector<Output>& out) {
  Sequence& q = *seqs_[static_cast<size_t>(slot)];
  Output o;
  o.slot = slot;
  if (!q.generating) {  // the prompt's last token: generation starts
    q.generating = true;
    q.pos = static_cast<int>(q.prompt.size());
    o.first = true;
  }
  out.push_back(std::move(o));
  const int32_t id = choose(q, logits);
  if (id < 0) return finish(slot, "stop", true, false, out);  // no token can continue the JSON
  q.sampler.accept(id);
  if (tokenizer().is_eog(id)) return finish(slot, "stop", true, false, out);
  ++q.n_generated;
  out.back().token = true;
  if (q.request.logprobs)
    out.back().logprobs.push_back(
        token_logprobs(logits, id, q.request.top_logprobs, tokenizer()));
  if (q.json) q.json->accept(id);
  auto piece = q.stops.push(q.decoder.push(id));
  emit(q, std::move(piece.text), out.back());
  if (piece.stopped) return finish(slot, "stop", false, false, out);
  if (q.json && q.json->complete())  // "length" when the budget made it close early
    return finish(slot, q.json->forced() ? "length" : "stop", true, false, out);
  // A JSON value being closed is finished even past max_tokens: that happens only when the
  // schema's shortest value is longer than max_tokens itself.
  if (q.request.max_tokens > 0 && q.n_generated >= q.request.max_tokens &&
      !(q.json && q.json->forced()))
    return finish(slot, "length", true, false, out);
  if (q.pos >= q.limit) return finish(slot, "length", true, true, out);  // no room to decode it
  q.next = id;
}

void ModelRunner::emit(Sequence& q, std::string text, Output& o) {
  if (!q.reply) {
    o.text = std::move(text);
    return;
  }
  chat::ReplyDelta d = q.reply->push(text);
  o.text = std::move(d.content);
  o.reasoning = std::move(d.reasoning);
  o.tool_calls = std::move(d.tool_calls);
}

void ModelRunner::finish(int slot, const std::string& reason, bool flush, bool context_full,
                         std::vector<Output>& out) {
  Sequence& q = *seqs_[static_cast<size_t>(slot)];
  Output& o = out.back();  // take() pushed this step's output for the slot
  if (flush) {
    auto tail = q.stops.push(q.decoder.finish());
    o.tail = std::move(tail.text);
    if (!tail.stopped) o.tail += q.stops.finish();
  }
  if (q.reply) {  // what the reply parser held back comes out now, in `tail` and the lists
    std::string tail = std::move(o.tail);
    o.tail.clear();
    chat::ReplyDelta d = q.reply->push(tail);
    d.append(q.reply->finish());
    o.tail = std::move(d.content);
    o.reasoning += d.reasoning;
    for (auto& c : d.tool_calls) o.tool_calls.push_back(std::move(c));
  }
  o.done = true;
  o.finish_reason = reason;
  o.context_full = context_full;
  o.prompt_tokens = static_cast<int>(q.prompt.size());
  o.completion_tokens = q.n_generated;
  drop(slot);
}

}  // namespace hearth::generate
