// The scheduler serving fine-tuned versions of one base (GenerationRequest::adapters): requests
// for the base, adapter X and adapter Y share the one loaded model and its batches, and each
// answers as it does alone; an adapter that does not fit is the request's error.
#include <gtest/gtest.h>

#include <memory>

#include "engine/model/lora_files.h"
#include "server/scheduler.h"
#include "server/scheduler_outcome.h"
#include "support/test_support.h"

namespace hearth::server {
namespace {

const std::vector<std::string> kTargets = {"attn_q.weight",      "attn_k.weight",   "attn_v.weight",
                                           "attn_output.weight", "ffn_gate.weight", "ffn_up.weight",
                                           "ffn_down.weight"};

Scheduler::Options options() {
  Scheduler::Options o;
  o.num_parallel = 4;
  o.max_queue = 16;
  o.threads = 1;
  o.default_num_ctx = 256;
  o.memory_budget = 1ull << 34;
  o.max_prompt_batch = 8;  // prompts in chunks that share steps with generating sequences
  return o;
}

GenerationRequest request(const std::string& model_file, const std::string& prompt,
                          std::vector<generate::LoraFile> adapters) {
  GenerationRequest r;
  r.model = "base";
  r.model_path = model_file;
  r.prompt = prompt;
  r.apply_template = false;
  r.sampling.temperature = 0;
  r.sampling.greedy = true;
  r.sampling.repeat_penalty = 1.0f;
  r.max_tokens = 40;
  r.adapters = std::move(adapters);
  return r;
}

// The request alone on a fresh scheduler: its text.
std::string solo(const GenerationRequest& r) {
  Outcome out;
  {
    Scheduler sched(options());
    sched.submit(r, out.sink());
    EXPECT_TRUE(out.wait());
  }
  EXPECT_FALSE(out.failed) << out.error;
  return out.text;
}

TEST(SchedulerAdapters, VersionsOfOneBaseShareItAndAnswerAsAlone) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  test::TempDir tmp;
  // Q4_K: its one-token and many-token kernels differ in the last bits, so a row computed with
  // the wrong kind (another sequence's) would show.
  for (const char* file : {"llama-gqa-f32.gguf", "quant-base-q4_k_m.gguf"}) {
    const auto base = dir / "models" / file;
    const auto x = tmp.path() / (std::string("x-") + file);
    const auto y = tmp.path() / (std::string("y-") + file);
    model::test::write_adapter(x, model::test::random_adapter(base, kTargets, 8, 16, 5));
    model::test::write_adapter(y, model::test::random_adapter(base, kTargets, 16, 16, 6));
    const std::vector<GenerationRequest> requests = {
        request(base.string(), "once upon a time", {{x.string(), 1.0f}}),
        request(base.string(), "once upon a time", {{y.string(), 1.0f}}),
        request(base.string(), "once upon a time", {}),
        request(base.string(), "def main():", {{x.string(), 0.5f}}),
    };
    std::vector<std::unique_ptr<Outcome>> outs;  // outlive the scheduler and its sinks
    Scheduler sched(options());
    for (const auto& r : requests) {
      outs.push_back(std::make_unique<Outcome>());
      sched.submit(r, outs.back()->sink());
    }
    for (auto& o : outs) ASSERT_TRUE(o->wait());
    const auto loaded = sched.loaded();
    ASSERT_EQ(loaded.size(), 1u) << "the versions loaded the base more than once";
    EXPECT_EQ(loaded[0].model_path, base.string());
    for (size_t i = 0; i < requests.size(); ++i) {
      ASSERT_FALSE(outs[i]->failed) << outs[i]->error;
      EXPECT_FALSE(outs[i]->text.empty());
      EXPECT_EQ(outs[i]->text, solo(requests[i])) << file << " request " << i;
    }
    // The adapters make the difference: one prompt, three answers.
    EXPECT_NE(outs[0]->text, outs[2]->text) << file;
    EXPECT_NE(outs[1]->text, outs[2]->text) << file;
    EXPECT_NE(outs[0]->text, outs[1]->text) << file;
  }
}

TEST(SchedulerAdapters, AnAdapterOfAnotherModelIsTheRequestsError) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const auto base = dir / "models" / "llama-gqa-f32.gguf";
  Scheduler sched(options());
  Outcome bad, good;
  sched.submit(
      request(base.string(), "hello", {{(dir / "lora" / "qwen2-f32.lora-qv.gguf").string(), 1.0f}}),
      bad.sink());
  sched.submit(request(base.string(), "hello", {}), good.sink());
  ASSERT_TRUE(bad.wait());
  ASSERT_TRUE(good.wait());
  EXPECT_TRUE(bad.failed);
  EXPECT_EQ(bad.error_kind, ErrorKind::invalid_input);
  EXPECT_NE(bad.error.find("architecture 'qwen2'"), std::string::npos) << bad.error;
  EXPECT_FALSE(good.failed) << good.error;
}

}  // namespace
}  // namespace hearth::server
