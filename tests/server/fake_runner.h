// A model-free generate::Runner for the scheduler's tests: it needs no weights, so queueing,
// keep-alive, eviction, cancellation and the busy path are tested on any machine.
//
// Shape: a prompt is one token per word (of `prompt`, or of every message's content); the
// prompt takes one step; then every step gives each running sequence one token, the text
// "w1 ", "w2 ", ..., until max_tokens ("length"), the context limit ("length") or, with
// max_tokens -1, forever. FakeModels is what the test sees: how often weights were loaded,
// how many runners are alive, the sizes reserve() was asked for; and what it sets: the memory a
// model takes, a delay per step, files that "do not exist", a step that fails.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "server/scheduler.h"

namespace hearth::server::test {

struct FakeModels {
  std::mutex mu;
  int loads = 0;                      // weights loaded (RunnerLoader calls that succeeded)
  int alive = 0;                      // runners not yet destroyed (models in memory)
  std::vector<int> reserved_ctx;      // every reserve()'s n_ctx, in order
  std::vector<int> gpu_layers;        // every set_gpu_layers() (made before each reserve())
  std::uint64_t bytes = 1000;         // memory_bytes() of every model
  int n_ctx_train = 1 << 20;          // a request with a huge num_ctx runs until cancelled
  std::chrono::milliseconds step_delay{1};
  std::set<std::string> missing;      // paths that fail to load with not_found
  std::atomic<bool> fail_steps{false};

  RunnerLoader loader();
};

class FakeRunner final : public generate::Runner {
 public:
  explicit FakeRunner(FakeModels& models) : models_(models) {
    std::lock_guard lock(models_.mu);
    ++models_.alive;
  }
  ~FakeRunner() override {
    std::lock_guard lock(models_.mu);
    --models_.alive;
  }

  int n_ctx_train() const override { return models_.n_ctx_train; }
  std::uint64_t memory_bytes(int, int) const override { return models_.bytes; }
  void set_gpu_layers(int n) override {
    std::lock_guard lock(models_.mu);
    models_.gpu_layers.push_back(n);
  }
  void reserve(int n_ctx, int n_seq) override {
    std::lock_guard lock(models_.mu);
    models_.reserved_ctx.push_back(n_ctx);
    seqs_.assign(static_cast<size_t>(n_seq), {});
  }

  int start(int slot, const generate::Request& r, int limit) override {
    std::string text = r.prompt;
    for (const auto& m : r.messages) text += " " + m.content;
    std::istringstream words(text);
    int n = 0;
    for (std::string w; words >> w;) ++n;
    if (n == 0) throw Error(ErrorKind::invalid_input, "the prompt is empty");
    if (n > limit)
      throw Error(ErrorKind::invalid_input, "the prompt is " + std::to_string(n) +
                                                " tokens but the model's context is " +
                                                std::to_string(limit) + " tokens");
    seqs_[static_cast<size_t>(slot)] = Seq{true, false, n, 0, limit, r.max_tokens};
    return n;
  }

  void step(std::vector<generate::Output>& out) override {
    std::this_thread::sleep_for(models_.step_delay);
    for (size_t s = 0; s < seqs_.size(); ++s) {
      Seq& q = seqs_[s];
      if (!q.running) continue;
      generate::Output o;
      o.slot = static_cast<int>(s);
      if (models_.fail_steps) {
        o.done = o.failed = true;
        o.error = "decoding failed: the fake was told to fail";
        q.running = false;
        out.push_back(std::move(o));
        continue;
      }
      o.first = !q.generating;
      q.generating = true;
      o.token = true;
      o.text = "w" + std::to_string(++q.generated) + " ";
      const bool at_max = q.max_tokens > 0 && q.generated >= q.max_tokens;
      const bool full = q.prompt + q.generated >= q.limit;
      if (at_max || full) {
        o.done = true;
        o.finish_reason = "length";
        o.context_full = full && !at_max;
        o.prompt_tokens = q.prompt;
        o.completion_tokens = q.generated;
        q.running = false;
      }
      out.push_back(std::move(o));
    }
  }

  void stop(int slot) override { seqs_[static_cast<size_t>(slot)].running = false; }

  std::optional<generate::Embedding> embed(int, const std::vector<std::string>& inputs, int,
                                           bool, const std::function<bool()>&) override {
    generate::Embedding e;
    for (const auto& input : inputs) {
      e.vectors.push_back({static_cast<float>(input.size()), 0.0f});
      e.prompt_tokens += 1;
    }
    return e;
  }

 private:
  struct Seq {
    bool running = false, generating = false;
    int prompt = 0, generated = 0, limit = 0, max_tokens = -1;
  };
  FakeModels& models_;
  std::vector<Seq> seqs_;
};

inline RunnerLoader FakeModels::loader() {
  return [this](const std::string& path, const std::string& name, int, int) {
    {
      std::lock_guard lock(mu);
      if (missing.count(path)) throw Error(ErrorKind::not_found, name + ": no such model file");
      ++loads;
    }
    return std::unique_ptr<generate::Runner>(new FakeRunner(*this));
  };
}

}  // namespace hearth::server::test
