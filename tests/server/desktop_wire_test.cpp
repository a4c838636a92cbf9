// The desktop protocol's request encoding: a request survives the trip to the agent, and a
// malformed infer message is refused with the field's name.
#include "server/desktop_wire.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "server/routing.h"

namespace hearth::server::wire {
namespace {

TEST(DesktopWire, RequestSurvivesTheTrip) {
  GenerationRequest r;
  r.model = "qwen:0.5b";
  r.messages = {{"system", "be brief"}, {"user", "héllo"}};
  r.sampling.temperature = 0;
  r.sampling.top_k = 0;
  r.sampling.top_p = 0.5f;
  r.sampling.seed = 1ull << 60;
  r.sampling.presence_penalty = 0.5f;
  r.max_tokens = 42;
  r.stop = {"\n\n", "END"};
  r.json_object = true;
  r.num_ctx = 2048;
  r.keep_alive = std::chrono::milliseconds(0);
  const GenerationRequest back = request_from_infer(infer_message("r1", r));
  EXPECT_EQ(back.model, r.model);
  ASSERT_EQ(back.messages.size(), 2u);
  EXPECT_EQ(back.messages[1].content, "héllo");
  EXPECT_EQ(back.sampling.temperature, 0.0f);
  EXPECT_EQ(back.sampling.top_k, 0);
  EXPECT_FLOAT_EQ(back.sampling.top_p, 0.5f);
  EXPECT_EQ(back.sampling.seed, 1ull << 60);
  EXPECT_FLOAT_EQ(back.sampling.presence_penalty, 0.5f);
  EXPECT_EQ(back.max_tokens, 42);
  EXPECT_EQ(back.stop, r.stop);
  EXPECT_TRUE(back.json_object);
  EXPECT_TRUE(back.json_schema.empty());
  EXPECT_EQ(back.num_ctx, 2048);
  ASSERT_TRUE(back.keep_alive.has_value());
  EXPECT_EQ(back.keep_alive->count(), 0);

  GenerationRequest raw;
  raw.model = "m:latest";
  raw.prompt = "once upon";
  raw.apply_template = false;
  const GenerationRequest raw_back = request_from_infer(infer_message("r2", raw));
  EXPECT_TRUE(raw_back.messages.empty());
  EXPECT_EQ(raw_back.prompt, "once upon");
  EXPECT_FALSE(raw_back.apply_template);
  EXPECT_FALSE(raw_back.keep_alive.has_value());
}

TEST(DesktopWire, MalformedInferIsRefusedNamingTheField) {
  const auto refused = [](boost::json::object m, const std::string& field) {
    try {
      request_from_infer(m);
      ADD_FAILURE() << "accepted " << boost::json::serialize(m);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::invalid_input);
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
    }
  };
  refused({{"type", "infer"}}, "model");
  refused({{"model", 5}}, "model");
  refused({{"model", "m"}, {"messages", "hi"}}, "messages");
  refused({{"model", "m"}, {"messages", boost::json::array{1}}}, "messages");
  refused({{"model", "m"}, {"options", boost::json::object{{"temperature", "hot"}}}}, "temperature");
  refused({{"model", "m"}, {"options", boost::json::object{{"seed", -1}}}}, "seed");
  refused({{"model", "m"}, {"options", boost::json::object{{"max_tokens", 1e12}}}}, "max_tokens");
  refused({{"model", "m"}, {"options", boost::json::object{{"stop", boost::json::array{1}}}}}, "stop");
  refused({{"model", "m"}, {"options", 3}}, "options");
}

TEST(DesktopWire, NamesAndPolicies) {
  EXPECT_EQ(full_model_name("tiny"), "tiny:latest");
  EXPECT_EQ(full_model_name("tiny:q8"), "tiny:q8");
  EXPECT_EQ(full_model_name("hf.co/org/m"), "hf.co/org/m:latest");
  EXPECT_EQ(kind_from("not_found"), ErrorKind::not_found);
  EXPECT_EQ(kind_from("anything else"), ErrorKind::unavailable);
  EXPECT_EQ(route_policy_from("local-only", "x"), RoutePolicy::local_only);
  EXPECT_EQ(to_string(RoutePolicy::desktop_then_local), "desktop-then-local");
  EXPECT_THROW(route_policy_from("desktop", "the X-Hearth-Route header"), Error);
}

TEST(DesktopWire, AJsonSchemaTravelsToTheDesktopAndBack) {
  GenerationRequest r;
  r.model = "m:latest";
  r.prompt = "p";
  r.json_object = true;
  r.json_schema = R"({"type":"object","properties":{"a":{"enum":["x","y"]}},"required":["a"]})";
  const GenerationRequest back = request_from_infer(infer_message("r2", r));
  EXPECT_TRUE(back.json_object);
  EXPECT_EQ(back.json_schema, r.json_schema);
  boost::json::object bad = infer_message("r3", r);
  bad["options"].as_object()["json_schema"] = 5;
  try {
    request_from_infer(bad);
    ADD_FAILURE() << "a json_schema that is no text must be refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("json_schema"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace hearth::server::wire
