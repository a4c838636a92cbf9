// One decode step of a model loop and what happens to each sequence in it: the prompt in
// chunks, then one token at a time (sampling, the JSON constraint, detokenizing, stop strings,
// the limits), and embeddings. Runs on the loop thread without the lock.
#include <spdlog/spdlog.h>

#include <cmath>
#include <limits>

#include "server/scheduler_loop_parts.h"

namespace hearth::server::detail {

std::string render_prompt(const GenerationRequest& request, chat::ChatFormat format,
                          const std::string& default_system, const std::string& bos_text) {
  if (request.messages.empty() && !request.apply_template) return bos_text + request.prompt;
  std::vector<chat::ChatMessage> messages;
  // `system` leads unless the conversation brings its own system message.
  const bool has_system = !request.messages.empty() && request.messages.front().role == "system";
  if (!request.system.empty() && !has_system) messages.push_back({"system", request.system});
  if (request.messages.empty()) {
    messages.push_back({"user", request.prompt});
  } else {
    messages.insert(messages.end(), request.messages.begin(), request.messages.end());
  }
  // As `hearth run`: a template's built-in system message when the conversation has none.
  if (messages.front().role != "system" && !default_system.empty())
    messages.insert(messages.begin(), {"system", default_system});
  return chat::render_chat(format, messages, /*add_generation_prompt=*/true, bos_text);
}

void ModelLoop::start_generation(Task&& task, int slot) {
  const Engine& e = *engine_;
  const int limit = effective_ctx(task);
  std::vector<int32_t> tokens;
  try {
    const std::string text = render_prompt(task.gen, e.format, e.default_system, e.bos_text);
    tokens = e.tokenizer().encode(text, /*add_special=*/false, /*parse_special=*/true);
  } catch (const Error& err) {
    task.fail(err.kind(), err.what());
    return;
  }
  if (tokens.empty()) {
    task.fail(ErrorKind::invalid_input, "the prompt is empty");
    return;
  }
  if (static_cast<int>(tokens.size()) > limit) {
    task.fail(ErrorKind::invalid_input, "the prompt is " + std::to_string(tokens.size()) +
                                            " tokens but the model's context is " +
                                            std::to_string(limit) +
                                            " tokens; shorten the prompt or raise num_ctx");
    return;
  }
  auto seq = std::make_unique<Sequence>(std::move(task), e);
  seq->prompt = std::move(tokens);
  seq->limit = limit;
  seq->admitted = Clock::now();
  if (seq->task.gen.json_object) {
    seq->json.emplace();
    if (engine_->pieces.empty()) {
      const auto& tok = e.tokenizer();
      engine_->pieces.reserve(static_cast<size_t>(tok.n_vocab()));
      for (int32_t id = 0; id < tok.n_vocab(); ++id)
        engine_->pieces.push_back(tok.token_to_piece(id, /*render_special=*/false));
    }
  }
  pending_prompt_ += seq->prompt.size();
  seqs_[static_cast<size_t>(slot)] = std::move(seq);
}

void ModelLoop::run_embedding(Task&& task, int slot) {
  const Engine& e = *engine_;
  const auto start = Clock::now();
  const int limit = effective_ctx(task);
  EmbeddingResult result;
  try {
    for (size_t i = 0; i < task.emb.inputs.size(); ++i) {
      if (task.is_cancelled()) return;
      auto tokens = e.tokenizer().encode(e.bos_text + task.emb.inputs[i], false, true);
      if (tokens.empty())
        throw Error(ErrorKind::invalid_input, "input " + std::to_string(i) + " is empty");
      if (static_cast<int>(tokens.size()) > limit) {
        if (!task.emb.truncate)
          throw Error(ErrorKind::invalid_input,
                      "input " + std::to_string(i) + " is " + std::to_string(tokens.size()) +
                          " tokens but the model's context is " + std::to_string(limit) +
                          " tokens; shorten it or allow truncation");
        tokens.resize(static_cast<size_t>(limit));
      }
      result.embeddings.push_back(e.ctx->embed(tokens, slot));
      result.prompt_tokens += static_cast<int>(tokens.size());
    }
  } catch (const Error& err) {
    task.fail(err.kind(), err.what());
    return;
  } catch (const std::exception& err) {
    task.fail(ErrorKind::internal, err.what());
    return;
  }
  pending_prompt_ += static_cast<std::uint64_t>(result.prompt_tokens);
  const auto now = Clock::now();
  result.timings.prompt_tokens = result.prompt_tokens;
  result.timings.load_ns = task.load_ns;
  result.timings.prompt_ns = ns_between(start, now);
  result.timings.total_ns = ns_between(task.submitted, now);
  {
    std::unique_lock lock(shared_.mu);
    sync(lock);  // the counters include this request before its sink hears of it
  }
  deliver(task.emb_sink, std::move(result));
}

void ModelLoop::step() {
  model::Context& ctx = *engine_->ctx;
  // Cancelled sequences stop here: their cells go, their sinks hear nothing more.
  for (size_t s = 0; s < seqs_.size(); ++s)
    if (seqs_[s] && seqs_[s]->task.is_cancelled()) {
      ctx.remove_sequence(static_cast<int>(s));
      seqs_[s].reset();
    }

  // One batch: every generating sequence's next token, then prompt chunks up to the budget.
  // A prompt is cut into chunks of max_prompt_batch tokens counted from its start, whatever
  // else runs: with batch-invariant decoding (context.h) a sequence's numbers depend on how its
  // prompt was cut, so the cut must not depend on the other sequences. Whole chunks only.
  std::vector<model::BatchEntry> batch;
  std::vector<int> row_slot;  // the sequence of each logits row, in batch order
  for (size_t s = 0; s < seqs_.size(); ++s) {
    Sequence* q = seqs_[s].get();
    if (!q || !q->generating) continue;
    batch.push_back({q->next, q->pos++, static_cast<int32_t>(s), true});
    row_slot.push_back(static_cast<int>(s));
  }
  const auto chunk = static_cast<size_t>(shared_.options.max_prompt_batch);
  size_t budget = chunk;
  for (size_t s = 0; s < seqs_.size() && budget > 0; ++s) {
    Sequence* q = seqs_[s].get();
    if (!q || q->generating) continue;
    const size_t n = std::min(chunk, q->prompt.size() - q->fed);
    if (n > budget) continue;  // its next chunk waits for the next step
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
    logits = ctx.decode(batch);
  } catch (const std::exception& err) {
    // Nothing was added; every sequence in this batch ends with the error.
    std::vector<bool> hit(seqs_.size());
    for (const auto& b : batch) hit[static_cast<size_t>(b.seq_id)] = true;
    for (size_t s = 0; s < seqs_.size(); ++s)
      if (hit[s] && seqs_[s]) {
        seqs_[s]->task.fail(ErrorKind::internal, std::string("decoding failed: ") + err.what());
        ctx.remove_sequence(static_cast<int>(s));
        seqs_[s].reset();
      }
    return;
  }
  for (size_t r = 0; r < row_slot.size(); ++r) take_logits(row_slot[r], logits[r]);
}

int32_t ModelLoop::choose(Sequence& q, std::span<const float> logits) {
  const int32_t first = q.sampler.sample(logits);
  if (!q.json) return first;
  const auto& tok = engine_->tokenizer();
  auto allowed = [&](int32_t id) {
    if (tok.is_eog(id)) return false;  // the object is not complete yet (else we stopped)
    const std::string& piece = engine_->pieces[static_cast<size_t>(id)];
    if (piece.empty()) return false;
    JsonPrefix trial = *q.json;
    return trial.feed(piece);
  };
  if (allowed(first)) return first;
  // The model's pick breaks the JSON: sample again among the tokens that keep it valid.
  std::vector<float> masked(logits.begin(), logits.end());
  bool any = false;
  for (int32_t id = 0; id < static_cast<int32_t>(masked.size()); ++id) {
    if (allowed(id)) {
      any = true;
    } else {
      masked[static_cast<size_t>(id)] = -std::numeric_limits<float>::infinity();
    }
  }
  return any ? q.sampler.sample(masked) : -1;
}

void ModelLoop::emit(Sequence& q, std::string text) {
  if (text.empty()) return;
  GenerationEvent e;
  e.kind = GenerationEvent::Kind::token;
  e.text = std::move(text);
  deliver(q.task.gen_sink, std::move(e));
}

void ModelLoop::take_logits(int slot, std::span<const float> logits) {
  Sequence& q = *seqs_[static_cast<size_t>(slot)];
  const auto now = Clock::now();
  if (!q.generating) {  // the prompt's last token: generation starts
    q.generating = true;
    q.pos = static_cast<int>(q.prompt.size());
    q.prompt_ns = ns_between(q.admitted, now);
    q.first_token = now;
  }
  const int32_t id = choose(q, logits);
  if (id < 0) return finish(slot, "stop", true);  // no token can continue the JSON
  q.sampler.accept(id);
  if (engine_->tokenizer().is_eog(id)) return finish(slot, "stop", true);
  ++q.n_generated;
  ++pending_completion_;
  if (q.json) q.json->feed(engine_->pieces[static_cast<size_t>(id)]);
  auto out = q.stops.push(q.decoder.push(id));
  emit(q, std::move(out.text));
  if (out.stopped) return finish(slot, "stop", false);
  if (q.json && q.json->complete()) return finish(slot, "stop", true);
  if (q.task.gen.max_tokens > 0 && q.n_generated >= q.task.gen.max_tokens)
    return finish(slot, "length", true);
  if (q.pos >= q.limit) return finish(slot, "length", true);  // no room to decode it
  q.next = id;
}

void ModelLoop::finish(int slot, const std::string& reason, bool flush) {
  Sequence& q = *seqs_[static_cast<size_t>(slot)];
  if (flush) {
    auto out = q.stops.push(q.decoder.finish());
    std::string text = std::move(out.text);
    if (!out.stopped) text += q.stops.finish();
    emit(q, std::move(text));
  }
  const auto now = Clock::now();
  GenerationEvent done;
  done.kind = GenerationEvent::Kind::done;
  done.finish_reason = reason;
  done.timings.prompt_tokens = static_cast<int>(q.prompt.size());
  done.timings.completion_tokens = q.n_generated;
  done.timings.load_ns = q.task.load_ns;
  done.timings.prompt_ns = q.prompt_ns;
  done.timings.eval_ns = ns_between(q.first_token, now);
  done.timings.total_ns = ns_between(q.task.submitted, now);
  GenerationSink sink = std::move(q.task.gen_sink);
  engine_->ctx->remove_sequence(slot);
  seqs_[static_cast<size_t>(slot)].reset();
  {
    // Counters and the slot count first: whoever reads stats() or loaded() after the done
    // event sees this request finished.
    std::unique_lock lock(shared_.mu);
    sync(lock);
  }
  deliver(sink, std::move(done));
}

}  // namespace hearth::server::detail
