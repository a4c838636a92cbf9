// The model options (api/options.h): each field's checks, unknown keys, overlay and the texts
// they are written as.
#include "api/options.h"

#include <gtest/gtest.h>

#include "api_test_util.h"
#include "core/error.h"
#include "support/test_support.h"

namespace hearth::api {
namespace {

using test::body;
using test::expect_error;

Options read(std::string_view text, UnknownOptions unknown = UnknownOptions::ignore) {
  return read_options(body(text), unknown);
}

void expect_refused(std::string_view text, const std::string& message) {
  expect_error([&] { read(text); }, ErrorKind::invalid_input, {message});
}

TEST(Options, ReadsEveryOption) {
  const Options o = read(R"({"temperature": 0.2, "top_k": 7, "top_p": 0.9, "min_p": 0.05,
      "repeat_penalty": 1.1, "repeat_last_n": -1, "presence_penalty": -1.5,
      "frequency_penalty": 2, "seed": 42, "stop": ["a", "b"], "num_ctx": 4096,
      "num_predict": -2})");
  EXPECT_EQ(o.temperature, 0.2);
  EXPECT_EQ(o.top_k, 7);
  EXPECT_EQ(o.top_p, 0.9);
  EXPECT_EQ(o.min_p, 0.05);
  EXPECT_EQ(o.repeat_penalty, 1.1);
  EXPECT_EQ(o.repeat_last_n, -1);
  EXPECT_EQ(o.presence_penalty, -1.5);
  EXPECT_EQ(o.frequency_penalty, 2.0);
  EXPECT_EQ(o.seed, 42);
  EXPECT_EQ(o.stop, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(o.num_ctx, 4096);
  EXPECT_EQ(o.num_predict, -2);
  EXPECT_FALSE(o.empty());
  EXPECT_TRUE(read(R"({"temperature": null})").empty());
  EXPECT_EQ(read(R"({"stop": "x"})").stop, std::vector<std::string>{"x"});
}

TEST(Options, EachFieldOfTheWrongTypeIsNamed) {
  expect_refused(R"({"temperature": "hot"})", "field 'temperature' must be a number");
  expect_refused(R"({"top_k": 1.5})", "field 'top_k' must be an integer");
  expect_refused(R"({"top_p": true})", "field 'top_p' must be a number");
  expect_refused(R"({"min_p": []})", "field 'min_p' must be a number");
  expect_refused(R"({"repeat_penalty": {}})", "field 'repeat_penalty' must be a number");
  expect_refused(R"({"repeat_last_n": "all"})", "field 'repeat_last_n' must be an integer");
  expect_refused(R"({"presence_penalty": "1"})", "field 'presence_penalty' must be a number");
  expect_refused(R"({"frequency_penalty": false})", "field 'frequency_penalty' must be a number");
  expect_refused(R"({"seed": "7"})", "field 'seed' must be an integer");
  expect_refused(R"({"stop": [1]})", "field 'stop' must be a string or an array of strings");
  expect_refused(R"({"num_ctx": 2.5})", "field 'num_ctx' must be an integer");
  expect_refused(R"({"num_predict": "10"})", "field 'num_predict' must be an integer");
}

TEST(Options, EachFieldOutOfRangeIsNamedWithItsRange) {
  expect_refused(R"({"temperature": -0.1})", "field 'temperature' must be between 0 and 100");
  expect_refused(R"({"temperature": 101})", "field 'temperature' must be between 0 and 100");
  expect_refused(R"({"top_k": -1})", "field 'top_k' must be 0 or more");
  expect_refused(R"({"top_p": 1.5})", "field 'top_p' must be between 0 and 1");
  expect_refused(R"({"min_p": -0.5})", "field 'min_p' must be between 0 and 1");
  expect_refused(R"({"repeat_penalty": 0})", "field 'repeat_penalty' must be between 1e-06 and 100");
  expect_refused(R"({"repeat_last_n": -2})", "field 'repeat_last_n' must be -1 or more");
  expect_refused(R"({"presence_penalty": 200})", "field 'presence_penalty' must be between -100 and 100");
  expect_refused(R"({"frequency_penalty": -101})", "field 'frequency_penalty' must be between -100 and 100");
  expect_refused(R"({"num_ctx": 0})", "field 'num_ctx' must be between 1 and 16777216");
  expect_refused(R"({"num_ctx": 16777217})", "field 'num_ctx' must be between 1 and 16777216");
  expect_refused(R"({"num_predict": -3})", "field 'num_predict' must be -2 or more");
  expect_refused(R"({"num_gpu": -2})", "field 'num_gpu' must be -1 or more");
}

TEST(Options, NumGpuIsKeptAndLaidOver) {
  EXPECT_EQ(read(R"({"num_gpu": 99})").num_gpu, 99);
  EXPECT_EQ(read(R"({"num_gpu": 0})", UnknownOptions::refuse).num_gpu, 0);
  EXPECT_FALSE(read(R"({"top_k": 3})").num_gpu.has_value());
  EXPECT_EQ(overlay(read(R"({"num_gpu": 4})"), read(R"({"num_gpu": -1})")).num_gpu, -1);
  EXPECT_EQ(to_json(read(R"({"num_gpu": 7})")).at("num_gpu").as_int64(), 7);
}

TEST(Options, UnknownKeysAreIgnoredInRequestsAndRefusedForStorage) {
  EXPECT_EQ(read(R"({"num_thread": 4, "mirostat": 2, "top_k": 3})").top_k, 3);
  expect_error([] { read(R"({"top_k": 3, "temprature": 0.5})", UnknownOptions::refuse); },
               ErrorKind::invalid_input, {"unknown option 'temprature'", "temperature"});
  EXPECT_EQ(read(R"({"top_k": 3})", UnknownOptions::refuse).top_k, 3);
}

TEST(Options, RequestOptionsGoOverStoredOnesFieldByField) {
  const Options stored = read(R"({"temperature": 0.3, "stop": ["x"], "top_k": 5})");
  const Options request = read(R"({"temperature": 0.9, "seed": 1})");
  const Options both = overlay(stored, request);
  EXPECT_EQ(both.temperature, 0.9);
  EXPECT_EQ(both.top_k, 5);
  EXPECT_EQ(both.seed, 1);
  EXPECT_EQ(both.stop, std::vector<std::string>{"x"});
}

TEST(Options, WrittenBackTheyReadTheSame) {
  const Options o = read(R"({"temperature": 0.7, "stop": ["<|eot_id|>", "END"], "num_predict": 64})");
  EXPECT_EQ(format_json(to_json(o)), R"({"num_predict":64,"stop":["<|eot_id|>","END"],"temperature":0.7})");
  EXPECT_EQ(read_options(to_json(o), UnknownOptions::refuse), o);
  EXPECT_EQ(parameters_text(o),
            "temperature                   0.7\n"
            "stop                          \"<|eot_id|>\"\n"
            "stop                          \"END\"\n"
            "num_predict                   64\n");
  EXPECT_EQ(parameters_text(Options{}), "");
}

}  // namespace
}  // namespace hearth::api
