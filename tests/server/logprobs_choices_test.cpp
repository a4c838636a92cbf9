// The scheduler's submit of several generations at once (OpenAI's n choices), without models
// (fake_runner.h): all or none against the queue's limit, and admitted in the same step so that
// they decode side by side.
#include <gtest/gtest.h>

#include <mutex>

#include "server/fake_runner.h"
#include "server/scheduler_outcome.h"

namespace hearth::server {
namespace {

GenerationRequest request(int max_tokens) {
  GenerationRequest r;
  r.model = "m";
  r.model_path = "/m/choices";
  r.prompt = "one two three";
  r.apply_template = false;
  r.max_tokens = max_tokens;
  return r;
}

TEST(SchedulerChoices, AreQueuedAllOrNoneAndStartInTheSameStep) {
  test::FakeModels models;
  models.step_delay = std::chrono::milliseconds(2);
  Scheduler::Options o;
  o.num_parallel = 3;
  o.max_queue = 2;
  o.threads = 1;
  o.default_num_ctx = 256;
  o.memory_budget = 1ull << 40;
  Outcome running, a, b;  // before the scheduler: its sinks may run until it goes
  std::mutex mu;
  std::vector<std::string> order;  // "a1", "b1", ...: which choice's token came when
  Scheduler sched(o, models.loader());
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  auto forever = request(-1);
  forever.num_ctx = 100000;
  forever.cancelled = cancel;
  sched.submit(forever, running.sink());
  ASSERT_TRUE(running.wait_for_tokens(1));

  // Three do not fit a queue of two: none is queued.
  try {
    sched.submit(std::vector<GenerationRequest>(3, request(3)),
                 std::vector<GenerationSink>(3, GenerationSink{}));
    ADD_FAILURE() << "three choices were queued beyond the queue's limit";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::unavailable) << e.what();
  }
  EXPECT_EQ(sched.stats().queue_depth, 0);
  EXPECT_EQ(sched.stats().requests_rejected, 1u);

  auto recorded = [&](const char* name, Outcome& outcome) {
    GenerationSink sink = outcome.sink();
    return GenerationSink([&mu, &order, name, sink](GenerationEvent&& e) {
      if (e.kind == GenerationEvent::Kind::token) {
        std::lock_guard lock(mu);
        order.push_back(name + e.text.substr(1, 1));
      }
      sink(std::move(e));
    });
  };
  std::vector<GenerationSink> sinks;
  sinks.push_back(recorded("a", a));
  sinks.push_back(recorded("b", b));
  sched.submit(std::vector<GenerationRequest>(2, request(3)), std::move(sinks));
  ASSERT_TRUE(a.wait());
  ASSERT_TRUE(b.wait());
  EXPECT_EQ(a.text, "w1 w2 w3 ");
  EXPECT_EQ(b.text, "w1 w2 w3 ");
  // Admitted together, they took every step side by side.
  EXPECT_EQ(order, (std::vector<std::string>{"a1", "b1", "a2", "b2", "a3", "b3"}));
  cancel->store(true);
}

}  // namespace
}  // namespace hearth::server
