// The scheduler without models (fake_runner.h): queueing and its order, the full queue (Error
// unavailable, and 503 with Retry-After through the router), keep-alive, eviction under the
// memory budget, cancellation, load failures, a larger context, a failing step and shutdown.
// No conformance data is needed.
#include <gtest/gtest.h>

#include <algorithm>

#include "server/fake_runner.h"
#include "server/scheduler_outcome.h"
#include "server/server.h"

namespace hearth::server {
namespace {

using test::FakeModels;

Scheduler::Options options(int num_parallel = 2) {
  Scheduler::Options o;
  o.num_parallel = num_parallel;
  o.max_queue = 16;
  o.threads = 1;
  o.default_num_ctx = 256;
  o.memory_budget = 1ull << 40;
  return o;
}

GenerationRequest request(const std::string& path, int max_tokens,
                          std::string prompt = "one two three") {
  GenerationRequest r;
  r.model = path + "-name";
  r.model_path = path;
  r.prompt = std::move(prompt);
  r.apply_template = false;
  r.max_tokens = max_tokens;
  return r;
}

// Polls until `done` holds or a few seconds pass.
template <typename F>
bool eventually(F done) {
  for (int i = 0; i < 2000; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return done();
}

std::vector<std::string> loaded_paths(const Scheduler& sched) {
  std::vector<std::string> out;
  for (const auto& m : sched.loaded()) out.push_back(m.model_path);
  std::sort(out.begin(), out.end());
  return out;
}

TEST(SchedulerWithoutModels, RequestsRunInSlotsAndWaitInOrder) {
  FakeModels models;
  models.step_delay = 5ms;
  std::mutex order_mu;
  std::vector<int> order;
  std::vector<std::unique_ptr<Outcome>> outs;
  for (int i = 0; i < 4; ++i) outs.push_back(std::make_unique<Outcome>());
  {
    Scheduler sched(options(1), models.loader());
    for (int i = 0; i < 4; ++i) {
      auto sink = outs[static_cast<size_t>(i)]->sink();
      sched.submit(request("/m/a", 3), [&, i, sink](GenerationEvent&& e) {
        if (e.kind == GenerationEvent::Kind::done) {
          std::lock_guard lock(order_mu);
          order.push_back(i);
        }
        sink(std::move(e));
      });
    }
    for (auto& o : outs) ASSERT_TRUE(o->wait());
    const auto stats = sched.stats();
    EXPECT_EQ(stats.requests_total, 4u);
    EXPECT_EQ(stats.prompt_tokens_total, 12u);
    EXPECT_EQ(stats.completion_tokens_total, 12u);
  }
  for (auto& o : outs) {
    EXPECT_FALSE(o->failed) << o->error;
    EXPECT_EQ(o->text, "w1 w2 w3 ");
    EXPECT_EQ(o->finish_reason, "length");
    EXPECT_EQ(o->timings.prompt_tokens, 3);
    EXPECT_EQ(o->timings.completion_tokens, 3);
    EXPECT_EQ(o->final_events, 1);
  }
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3})) << "one slot: first in, first out";
  EXPECT_EQ(models.loads, 1) << "one model, loaded once";
  EXPECT_EQ(models.alive, 0) << "the scheduler's end unloads it";
}

TEST(SchedulerWithoutModels, FullQueueIsUnavailableAndAnswers503WithRetryAfter) {
  FakeModels models;
  auto o = options(1);
  o.max_queue = 2;
  Outcome running, a, b, refused;  // before the scheduler: its sinks may run until it goes
  Scheduler sched(o, models.loader());
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  auto forever = request("/m/a", -1);
  forever.num_ctx = 100000;  // capped at the training context: runs for a while
  forever.cancelled = cancel;
  sched.submit(forever, running.sink());
  ASSERT_TRUE(running.wait_for_tokens(1));
  sched.submit(request("/m/a", 1), a.sink());
  sched.submit(request("/m/a", 1), b.sink());
  EXPECT_EQ(sched.stats().queue_depth, 2);
  try {
    sched.submit(request("/m/a", 1), refused.sink());
    ADD_FAILURE() << "a third waiting request was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::unavailable);
    EXPECT_NE(std::string(e.what()).find("busy"), std::string::npos) << e.what();
  }
  // Through the HTTP layer the same refusal is a 503 the client may retry.
  Router router;
  router.add("POST", "/generate", [&](const Request&) -> Response {
    sched.submit(request("/m/a", 1), refused.sink());
    return Response{200, "text/plain", "queued", {}, {}};
  }, true);
  Request http;
  http.method = "POST";
  http.target = "/generate";
  const Response r = router.handle(http);
  EXPECT_EQ(r.status, 503);
  bool retry_after = false;
  for (const auto& [name, value] : r.headers) retry_after |= name == "Retry-After";
  EXPECT_TRUE(retry_after);
  EXPECT_EQ(sched.stats().requests_rejected, 2u);
  cancel->store(true);
  ASSERT_TRUE(a.wait());
  ASSERT_TRUE(b.wait());
  EXPECT_FALSE(a.failed || b.failed) << a.error << b.error;
  EXPECT_FALSE(running.finished) << "a cancelled request gets no more events";
}

TEST(SchedulerWithoutModels, KeepAliveUnloadsWhenItRunsOutAndNotBefore) {
  FakeModels models;
  Scheduler sched(options(), models.loader());
  Outcome quick, kept, forever;
  auto r = request("/m/quick", 1);
  r.keep_alive = 0ms;
  sched.submit(r, quick.sink());
  r = request("/m/kept", 1);
  r.keep_alive = 2s;
  sched.submit(r, kept.sink());
  r = request("/m/forever", 1);
  r.keep_alive = -1ms;
  sched.submit(r, forever.sink());
  for (Outcome* o : {&quick, &kept, &forever}) ASSERT_TRUE(o->wait());
  EXPECT_TRUE(eventually([&] { return loaded_paths(sched).size() == 2; }))
      << "keep_alive 0 unloads as soon as the request ends";
  bool kept_has_expiry = false, forever_has_expiry = true;
  for (const auto& m : sched.loaded()) {
    if (m.model_path == "/m/kept") kept_has_expiry = m.expires_at.has_value();
    if (m.model_path == "/m/forever") forever_has_expiry = m.expires_at.has_value();
  }
  EXPECT_TRUE(kept_has_expiry);
  EXPECT_FALSE(forever_has_expiry) << "a negative keep_alive never expires";
  EXPECT_TRUE(eventually([&] { return loaded_paths(sched).size() == 1; }));
  EXPECT_EQ(loaded_paths(sched), std::vector<std::string>{"/m/forever"});
  std::lock_guard lock(models.mu);
  EXPECT_EQ(models.alive, 1);
}

TEST(SchedulerWithoutModels, MemoryBudgetEvictsTheLeastRecentlyUsedIdleModelOnly) {
  FakeModels models;
  models.bytes = 1000;
  auto o = options();
  o.memory_budget = 2500;  // two models fit, not three
  Scheduler sched(o, models.loader());
  for (const char* path : {"/m/a", "/m/b"}) {
    Outcome out;
    sched.submit(request(path, 1), out.sink());
    ASSERT_TRUE(out.wait());
  }
  Outcome again;  // /m/a is now the most recently used
  sched.submit(request("/m/a", 1), again.sink());
  ASSERT_TRUE(again.wait());
  Outcome c;
  sched.submit(request("/m/c", 1), c.sink());
  ASSERT_TRUE(c.wait());
  EXPECT_TRUE(eventually([&] { return loaded_paths(sched).size() == 2; }));
  EXPECT_EQ(loaded_paths(sched), (std::vector<std::string>{"/m/a", "/m/c"}));

}

TEST(SchedulerWithoutModels, ABusyModelIsNeverEvicted) {
  FakeModels models;
  auto o = options();
  o.memory_budget = 1500;  // one model fits
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  Outcome busy, other;
  Scheduler sched(o, models.loader());
  auto r = request("/m/a", -1);
  r.num_ctx = 100000;
  r.cancelled = cancel;
  sched.submit(r, busy.sink());
  ASSERT_TRUE(busy.wait_for_tokens(1));
  // The newcomer loads beside it, over the budget (with a warning), rather than cutting it off.
  sched.submit(request("/m/b", 1), other.sink());
  ASSERT_TRUE(other.wait());
  EXPECT_FALSE(other.failed) << other.error;
  EXPECT_FALSE(busy.finished);
  EXPECT_EQ(loaded_paths(sched), (std::vector<std::string>{"/m/a", "/m/b"}));
  cancel->store(true);
}

TEST(SchedulerWithoutModels, CancelledRequestsStopAndFreeTheirSlot) {
  FakeModels models;
  Scheduler sched(options(1), models.loader());
  auto running_flag = std::make_shared<std::atomic<bool>>(false);
  auto queued_flag = std::make_shared<std::atomic<bool>>(false);
  Outcome running, queued, last;
  auto r = request("/m/a", -1);
  r.num_ctx = 100000;
  r.cancelled = running_flag;
  sched.submit(r, running.sink());
  ASSERT_TRUE(running.wait_for_tokens(2));
  r = request("/m/a", 2);
  r.cancelled = queued_flag;
  sched.submit(r, queued.sink());
  sched.submit(request("/m/a", 2), last.sink());
  queued_flag->store(true);  // leaves the queue without ever starting
  running_flag->store(true);
  ASSERT_TRUE(last.wait());
  EXPECT_EQ(last.text, "w1 w2 ");
  EXPECT_FALSE(running.finished);
  EXPECT_EQ(queued.token_events, 0);
  EXPECT_FALSE(queued.finished);
  EXPECT_TRUE(eventually([&] { return sched.stats().active_sequences == 0; }));
  EXPECT_EQ(sched.stats().queue_depth, 0);
}

TEST(SchedulerWithoutModels, AModelThatCannotLoadFailsEachWaitingRequestInItsOwnName) {
  FakeModels models;
  models.missing.insert("/m/gone");
  Scheduler sched(options(), models.loader());
  Outcome mine, theirs;
  auto r = request("/m/gone", 2);
  r.model = "alice-name";
  sched.submit(r, mine.sink());
  r.model = "bob-name";
  sched.submit(r, theirs.sink());
  ASSERT_TRUE(mine.wait());
  ASSERT_TRUE(theirs.wait());
  for (Outcome* o : {&mine, &theirs}) {
    EXPECT_TRUE(o->failed);
    EXPECT_EQ(o->error_kind, ErrorKind::not_found) << o->error;
  }
  EXPECT_NE(mine.error.find("alice-name"), std::string::npos) << mine.error;
  EXPECT_NE(theirs.error.find("bob-name"), std::string::npos) << theirs.error;
  EXPECT_EQ(theirs.error.find("alice-name"), std::string::npos) << theirs.error;
  EXPECT_TRUE(sched.loaded().empty());
}

TEST(SchedulerWithoutModels, ALargerContextResizesTheCacheAndKeepsTheWeights) {
  FakeModels models;
  Scheduler sched(options(), models.loader());
  for (int ctx : {64, 512, 32}) {
    Outcome out;
    auto r = request("/m/a", 2);
    r.num_ctx = ctx;
    sched.submit(r, out.sink());
    ASSERT_TRUE(out.wait());
    EXPECT_FALSE(out.failed) << out.error;
  }
  EXPECT_EQ(sched.loaded().at(0).num_ctx, 512) << "a smaller request runs in the larger context";
  std::lock_guard lock(models.mu);
  EXPECT_EQ(models.loads, 1);
  EXPECT_EQ(models.reserved_ctx, (std::vector<int>{64, 512}));
}

// Ollama's num_gpu applies when the model loads: a request asking for another count than the
// loaded one reloads it (keeping the weights), one without num_gpu takes the setting's.
TEST(SchedulerWithoutModels, NumGpuAppliesWhenTheModelLoads) {
  FakeModels models;
  auto o = options();
  o.gpu_layers = 0;  // the setting: the CPU
  Scheduler sched(o, models.loader());
  for (int num_gpu : {-1, 5, 5, -1}) {
    Outcome out;
    auto r = request("/m/a", 2);
    r.num_gpu = num_gpu;
    sched.submit(r, out.sink());
    ASSERT_TRUE(out.wait());
    EXPECT_FALSE(out.failed) << out.error;
  }
  std::lock_guard lock(models.mu);
  EXPECT_EQ(models.loads, 1);
  EXPECT_EQ(models.gpu_layers, (std::vector<int>{0, 5, 0}));
}

TEST(SchedulerWithoutModels, PromptLongerThanItsContextAndFailedStepsAreErrorEvents) {
  FakeModels models;
  Scheduler sched(options(), models.loader());
  Outcome too_long, fails;
  auto r = request("/m/a", 2, "a b c d e f g h i j");
  r.num_ctx = 4;
  sched.submit(r, too_long.sink());
  ASSERT_TRUE(too_long.wait());
  EXPECT_TRUE(too_long.failed);
  EXPECT_EQ(too_long.error_kind, ErrorKind::invalid_input);
  EXPECT_NE(too_long.error.find("the prompt is 10 tokens"), std::string::npos) << too_long.error;
  models.fail_steps = true;
  sched.submit(request("/m/a", 2), fails.sink());
  ASSERT_TRUE(fails.wait());
  EXPECT_TRUE(fails.failed);
  EXPECT_EQ(fails.error_kind, ErrorKind::internal);
  EXPECT_NE(fails.error.find("decoding failed"), std::string::npos) << fails.error;
}

TEST(SchedulerWithoutModels, ShutdownFailsWhatIsRunningAndQueued) {
  FakeModels models;
  Outcome running, queued;
  {
    Scheduler sched(options(1), models.loader());
    auto r = request("/m/a", -1);
    r.num_ctx = 100000;
    sched.submit(r, running.sink());
    sched.submit(request("/m/a", 2), queued.sink());
    ASSERT_TRUE(running.wait_for_tokens(1));
  }
  for (Outcome* o : {&running, &queued}) {
    EXPECT_TRUE(o->failed);
    EXPECT_EQ(o->error_kind, ErrorKind::unavailable);
    EXPECT_EQ(o->final_events, 1);
  }
  EXPECT_EQ(models.alive, 0);
}

}  // namespace
}  // namespace hearth::server
