// Constrained JSON output through the runner with a real (tiny, random-weight) conformance
// model: whatever junk the model prefers, the text is a value the schema accepts, closed within
// max_tokens and within the context; a bad schema is the request's error. Also the cost of one
// fully checked step on a 151936-token vocabulary (printed, never a pass/fail).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <random>

#include "engine/generate/json_constraint.h"
#include "engine/generate/runner.h"
#include "engine/gguf/gguf.h"
#include "support/test_support.h"

namespace hearth::generate {
namespace {

const char* const kSchemas[] = {
    R"({"type":"object","properties":{"name":{"type":"string","maxLength":12},
      "age":{"type":"integer","minimum":0,"maximum":120},
      "tags":{"type":"array","items":{"enum":["a","b","c"]},"minItems":1,"maxItems":3}},
      "required":["name","age","tags"],"additionalProperties":false})",
    R"({"anyOf":[{"type":"object","properties":{"name":{"const":"get_weather"},
      "arguments":{"type":"object","properties":{"city":{"type":"string"},
      "unit":{"enum":["C","F"]}},"required":["city","unit"],"additionalProperties":false}},
      "required":["name","arguments"],"additionalProperties":false},
      {"type":"object","properties":{"name":{"const":"get_time"},"arguments":{"type":"object",
      "properties":{},"additionalProperties":false}},"required":["name","arguments"],
      "additionalProperties":false}]})",
    R"({"$defs":{"n":{"type":"object","properties":{"v":{"type":"number"},"kids":{"type":"array",
      "items":{"$ref":"#/$defs/n"}}},"required":["v","kids"],"additionalProperties":false}},
      "$ref":"#/$defs/n"})",
    R"({"type":"object","properties":{"day":{"type":"string","format":"date"},
      "code":{"type":"string","pattern":"^[A-Z]{3}[0-9]{2}$"}},"required":["day","code"]})",
};

std::unique_ptr<ModelRunner> load(const std::filesystem::path& dir, int n_ctx) {
  RunnerOptions o;
  o.threads = 1;
  o.n_ctx = n_ctx;
  return ModelRunner::load((dir / "models" / "llama-gqa-f32.gguf").string(), o);
}

struct Result {
  std::string text;
  Output done;
};

Result generate(ModelRunner& runner, const Request& r, int limit) {
  runner.start(0, r, limit);
  Result res;
  for (int steps = 0; steps < 5000; ++steps) {
    std::vector<Output> out;
    runner.step(out);
    for (auto& o : out) {
      EXPECT_FALSE(o.failed) << o.error;
      res.text += o.text;
      if (o.done) {
        res.text += o.tail;
        res.done = o;
        return res;
      }
    }
  }
  ADD_FAILURE() << "no end";
  return res;
}

Request request(const std::string& schema, int max_tokens, uint64_t seed) {
  Request r;
  r.prompt = "Write JSON about a person.";
  r.apply_template = false;
  r.sampling.temperature = seed == 0 ? 0 : 1.5f;
  r.sampling.greedy = seed == 0;
  r.sampling.top_k = 0;
  r.sampling.seed = seed;
  r.max_tokens = max_tokens;
  r.json_schema = schema;
  return r;
}

void expect_valid(const std::string& schema, const Result& res, const std::string& what) {
  auto s = compile_json_schema(schema);
  JsonSchemaState st(*s);
  EXPECT_TRUE(st.feed(res.text) && st.complete()) << what << ": " << res.text;
  boost::system::error_code ec;
  (void)boost::json::parse(res.text, ec);
  EXPECT_FALSE(ec) << what << ": " << res.text;
}

TEST(JsonSchemaRunner, OutputValidatesAndClosesWithinMaxTokens) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  auto runner = load(dir, 256);
  int forced = 0;
  for (const char* schema : kSchemas) {
    for (int max_tokens : {5, 9, 15, 60}) {
      for (uint64_t seed : {0, 11}) {
        const std::string what = std::string(schema).substr(0, 40) + " max_tokens " +
                                 std::to_string(max_tokens) + " seed " + std::to_string(seed);
        const Result res = generate(*runner, request(schema, max_tokens, seed), 256);
        expect_valid(schema, res, what);
        // Past max_tokens only to write the schema's shortest value, which did not fit.
        if (res.done.completion_tokens > max_tokens) {
          EXPECT_EQ(res.text, JsonSchemaState(*compile_json_schema(schema)).completion()) << what;
        }
        if (res.done.finish_reason == "length") ++forced;
        else EXPECT_EQ(res.done.finish_reason, "stop") << what;
      }
    }
  }
  EXPECT_GT(forced, 0) << "small budgets make the constraint close the value";
}

TEST(JsonSchemaRunner, ClosesWithinTheContextAndJsonObjectToo) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  auto runner = load(dir, 64);
  Request r = request(kSchemas[2], -1, 5);
  const int n_prompt = runner->start(0, r, 40);
  runner->stop(0);
  const Result res = generate(*runner, r, 40);
  expect_valid(kSchemas[2], res, "context");
  EXPECT_LE(n_prompt + res.done.completion_tokens, 41);
  Request obj = request("", 7, 3);
  obj.json_object = true;
  const Result any = generate(*runner, obj, 64);
  expect_valid(R"({"type":"object"})", any, "json_object");
}

TEST(JsonSchemaRunner, ABadSchemaIsTheRequestsError) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  auto runner = load(dir, 64);
  test::expect_error([&] { runner->start(0, request(R"({"not":{}})", 5, 0), 64); },
                     ErrorKind::unsupported, {"json_schema uses 'not' at #"});
  test::expect_error([&] { runner->start(0, request("{", 5, 0), 64); }, ErrorKind::invalid_input,
                     {"not valid JSON"});
  const Result res = generate(*runner, request(kSchemas[0], 9, 0), 64);  // the slot is free
  expect_valid(kSchemas[0], res, "after errors");
}

// One step where the model's pick does not fit, so every token is checked: the qwen2 vocabulary
// (151936 tokens) in a string value and at an object's key.
TEST(JsonConstraint, FullCheckCostOnTheQwen2Vocabulary) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const auto file = gguf::File::open(dir / "tokenizer" / "ggml-vocab-qwen2.gguf");
  const auto tok = tokenizer::Tokenizer::from_gguf(file);
  auto vocab = std::make_shared<JsonVocab>(tok);
  auto person = compile_json_schema(kSchemas[0]);
  auto dated = compile_json_schema(kSchemas[3]);
  const auto n = static_cast<size_t>(tok.n_vocab());
  std::vector<float> logits(n, 0.0f);
  std::mt19937 rng(1);
  for (auto& l : logits) l = static_cast<float>(rng() % 1000) / 100.0f;
  struct Case {
    std::shared_ptr<const JsonSchema> schema;
    const char* prefix;
    unsigned char bad_first_byte;
  };
  for (const auto& [schema, prefix, first_byte] :
       {Case{person, R"({"name":"Al)", '\n'}, Case{person, R"({"name":"Al","age":3,)", '}'},
        Case{dated, R"({"day":"2024-0)", 'x'}}) {
    JsonConstraint c(schema, vocab);
    const auto ids = vocab->tokens(prefix);
    ASSERT_TRUE(ids);
    for (int32_t id : *ids) c.accept(id);
    // A pick that cannot fit gets the top logit (a raw newline in a string, '}' after ',', a
    // letter in a date).
    const int32_t bad = vocab->by_first[first_byte].front();
    std::vector<float> step = logits;
    step[static_cast<size_t>(bad)] = 100.0f;
    sampler::SamplerSettings greedy;
    greedy.greedy = true;
    sampler::Sampler s(greedy, static_cast<int>(n));
    double ms = 1e9;
    int32_t id = -1;
    for (int rep = 0; rep < 3; ++rep) {  // the best of three: the first touches cold memory
      JsonConstraint trial = c;
      const auto t0 = std::chrono::steady_clock::now();
      id = trial.choose(s, step, 1000);
      ms = std::min(ms, std::chrono::duration<double, std::milli>(
                            std::chrono::steady_clock::now() - t0).count());
    }
    ASSERT_GE(id, 0);
    ASSERT_NE(id, bad);
    JsonSchemaState st(*schema);
    EXPECT_TRUE(st.feed(std::string(prefix) + vocab->pieces[static_cast<size_t>(id)]));
    // The usual step: the model's pick fits and only the budget is checked.
    std::vector<float> fits = logits;
    fits[static_cast<size_t>(id)] = 200.0f;
    double usual = 1e9;
    for (int rep = 0; rep < 3; ++rep) {
      JsonConstraint trial = c;
      const auto t0 = std::chrono::steady_clock::now();
      EXPECT_EQ(trial.choose(s, fits, 1000), id);
      usual = std::min(usual, std::chrono::duration<double, std::milli>(
                                  std::chrono::steady_clock::now() - t0).count());
    }
    std::printf("after %s: full check %.1f ms, a fitting pick %.3f ms (%zu tokens)\n", prefix,
                ms, usual, n);
  }
}

}  // namespace
}  // namespace hearth::generate
