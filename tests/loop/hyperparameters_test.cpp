// Hyperparameters as users give them (OpenAI's names or "auto", in both places) and what a job
// trains with.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "core/error.h"
#include "loop/hyperparameters.h"

namespace hearth::loop {
namespace {

namespace json = boost::json;

json::object body(const char* text) { return json::parse(text).as_object(); }

ErrorKind kind_of(const char* text) {
  try {
    parse_hyperparameters(body(text));
  } catch (const Error& e) {
    return e.kind();
  }
  return ErrorKind::internal;
}

TEST(Hyperparameters, ReadsOpenAisNamesInBothPlacesAndAuto) {
  Hyperparameters h = parse_hyperparameters(
      body(R"({"hyperparameters": {"n_epochs": 3, "batch_size": "auto", "learning_rate_multiplier": 2}})"));
  EXPECT_EQ(h.n_epochs, 3);
  EXPECT_FALSE(h.batch_size.has_value());
  EXPECT_EQ(h.learning_rate_multiplier, 2.0);
  h = parse_hyperparameters(body(
      R"({"hyperparameters": {"n_epochs": 1}, "method": {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 5, "rank": 8, "alpha": 16, "learning_rate": 0.001, "max_steps": 7}}}})"));
  EXPECT_EQ(h.n_epochs, 5);  // the method's win
  EXPECT_EQ(h.rank, 8);
  EXPECT_EQ(h.alpha, 16.0);
  EXPECT_EQ(h.learning_rate, 0.001);
  EXPECT_EQ(h.max_steps, 7);
  EXPECT_FALSE(parse_hyperparameters(body("{}")).n_epochs.has_value());
  const json::object j = to_json(parse_hyperparameters(body(R"({"hyperparameters": {"n_epochs": 2}})")));
  EXPECT_EQ(j.at("n_epochs").as_int64(), 2);
  EXPECT_EQ(j.at("batch_size").as_string(), "auto");
  EXPECT_EQ(read_hyperparameters(j).n_epochs, 2);  // stored and read back
}

TEST(Hyperparameters, RefusesWrongTypesRangesNamesAndMethods) {
  EXPECT_EQ(kind_of(R"({"hyperparameters": {"n_epochs": 0}})"), ErrorKind::invalid_input);
  EXPECT_EQ(kind_of(R"({"hyperparameters": {"n_epochs": 2.5}})"), ErrorKind::invalid_input);
  EXPECT_EQ(kind_of(R"({"hyperparameters": {"n_epochs": "three"}})"), ErrorKind::invalid_input);
  EXPECT_EQ(kind_of(R"({"hyperparameters": {"batch_size": 100000}})"), ErrorKind::invalid_input);
  EXPECT_EQ(kind_of(R"({"hyperparameters": {"learning_rate_multiplier": -1}})"), ErrorKind::invalid_input);
  EXPECT_EQ(kind_of(R"({"hyperparameters": {"learning_rate": 2}})"), ErrorKind::invalid_input);
  EXPECT_EQ(kind_of(R"({"hyperparameters": {"epochs": 2}})"), ErrorKind::invalid_input);
  EXPECT_EQ(kind_of(R"({"hyperparameters": [1]})"), ErrorKind::invalid_input);
  EXPECT_EQ(kind_of(R"({"method": {"type": "dpo"}})"), ErrorKind::invalid_input);
  try {
    parse_hyperparameters(body(R"({"hyperparameters": {"temprature": 1}})"));
    ADD_FAILURE() << "an unknown name was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown hyperparameter 'temprature'"), std::string::npos);
  }
}

TEST(Hyperparameters, ResolveFillsAutoFromTheDataAndCapsSteps) {
  TrainingSettings s = resolve({}, 120, 4);
  EXPECT_EQ(s.epochs, 3);
  EXPECT_EQ(s.batch, 4);
  EXPECT_EQ(s.rank, 16);
  EXPECT_EQ(s.alpha, 32);
  EXPECT_DOUBLE_EQ(s.learning_rate, kBaseLearningRate);
  EXPECT_EQ(s.steps, 3 * 30);
  s = resolve({.n_epochs = 2, .learning_rate_multiplier = 10, .rank = 4, .max_steps = 5}, 121, 2);
  EXPECT_EQ(s.steps, 5);  // 2 × 61 capped
  EXPECT_EQ(s.alpha, 8);
  EXPECT_DOUBLE_EQ(s.learning_rate, 10 * kBaseLearningRate);
  EXPECT_EQ(resolve({}, 5000, 4).epochs, 1);
}

}  // namespace
}  // namespace hearth::loop
