// A model loop's requests in the runner (engine/generate/runner.h): starting a generation in a
// slot, embeddings, and one decode step whose outputs become each request's events and timings.
// Runs on the loop thread without the lock.
#include <spdlog/spdlog.h>

#include "server/scheduler_impl.h"

namespace hearth::server::detail {

void ModelLoop::start_generation(Task&& task, int slot) {
  const int limit = effective_ctx(task);
  int prompt_tokens = 0;
  try {
    prompt_tokens = runner_->start(slot, task.gen, limit);
  } catch (const Error& err) {
    task.fail(err.kind(), err.what());
    return;
  } catch (const std::exception& err) {
    task.fail(ErrorKind::internal, err.what());
    return;
  }
  pending_prompt_ += static_cast<std::uint64_t>(prompt_tokens);
  Running r{std::move(task), Clock::now(), {}, 0};
  seqs_[static_cast<size_t>(slot)] = std::move(r);
}

void ModelLoop::run_embedding(Task&& task, int slot) {
  const auto start = Clock::now();
  EmbeddingResult result;
  try {
    auto e = runner_->embed(slot, task.emb.inputs, effective_ctx(task), task.emb.truncate,
                            [&task] { return task.is_cancelled(); });
    if (!e) return;
    result.embeddings = std::move(e->vectors);
    result.prompt_tokens = e->prompt_tokens;
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
  // Cancelled sequences stop here: their cells go, their sinks hear nothing more.
  for (size_t s = 0; s < seqs_.size(); ++s)
    if (seqs_[s] && seqs_[s]->task.is_cancelled()) {
      runner_->stop(static_cast<int>(s));
      seqs_[s].reset();
    }
  std::vector<generate::Output> outputs;
  runner_->step(outputs);
  for (auto& o : outputs) take(o);
}

void ModelLoop::take(generate::Output& o) {
  auto& slot = seqs_[static_cast<size_t>(o.slot)];
  if (!slot) return;
  Running& r = *slot;
  const auto now = Clock::now();
  if (o.failed) {
    r.task.fail(o.error_kind, o.error);
    slot.reset();
    return;
  }
  if (o.first) {
    r.prompt_ns = ns_between(r.admitted, now);
    r.first_token = now;
  }
  if (o.token) ++pending_completion_;
  // One token event for what this step let out: reasoning, text (with the held-back tail when
  // the sequence ended), completed calls, and the step's logprobs.
  if (o.done) o.text += o.tail;
  if (!o.text.empty() || !o.reasoning.empty() || !o.tool_calls.empty() || !o.logprobs.empty()) {
    GenerationEvent e;
    e.kind = GenerationEvent::Kind::token;
    e.text = std::move(o.text);
    e.reasoning = std::move(o.reasoning);
    e.tool_calls = std::move(o.tool_calls);
    e.logprobs = std::move(o.logprobs);
    deliver(r.task.gen_sink, std::move(e));
  }
  if (!o.done) return;
  GenerationEvent done;
  done.kind = GenerationEvent::Kind::done;
  done.finish_reason = o.finish_reason;
  done.timings.prompt_tokens = o.prompt_tokens;
  done.timings.completion_tokens = o.completion_tokens;
  done.timings.load_ns = r.task.load_ns;
  done.timings.prompt_ns = r.prompt_ns;
  done.timings.eval_ns = ns_between(r.first_token, now);
  done.timings.total_ns = ns_between(r.task.submitted, now);
  GenerationSink sink = std::move(r.task.gen_sink);
  slot.reset();
  {
    // Counters and the slot count first: whoever reads stats() or loaded() after the done
    // event sees this request finished.
    std::unique_lock lock(shared_.mu);
    sync(lock);
  }
  deliver(sink, std::move(done));
}

}  // namespace hearth::server::detail
