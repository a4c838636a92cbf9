// StopStrings on streamed pieces: text before a stop comes out, the stop and what follows do not,
// and a possible start of a stop is held back until the next piece settles it.
#include <gtest/gtest.h>

#include "engine/sampler/sampler.h"

namespace hearth::sampler {
namespace {

// Feeds the pieces; returns everything emitted (finish() included when no stop was hit).
std::string stream(StopStrings& stops, const std::vector<std::string>& pieces) {
  std::string out;
  for (const auto& piece : pieces) {
    auto result = stops.push(piece);
    out += result.text;
    if (result.stopped) return out;
  }
  return out + stops.finish();
}

TEST(StopStrings, PassesTextThroughWithoutStops) {
  StopStrings stops({});
  EXPECT_EQ(stream(stops, {"Hello", ", ", "world"}), "Hello, world");
  StopStrings only_empty({""});
  EXPECT_EQ(only_empty.push("abc").text, "abc");
}

TEST(StopStrings, CutsAtAStopInsideOnePiece) {
  StopStrings stops({"</s>"});
  auto result = stops.push("answer</s>trailing");
  EXPECT_EQ(result.text, "answer");
  EXPECT_TRUE(result.stopped);
  EXPECT_TRUE(stops.stopped());
  EXPECT_EQ(stops.matched(), "</s>");
  EXPECT_EQ(stops.push("more").text, "");
  EXPECT_TRUE(stops.push("more").stopped);
}

TEST(StopStrings, StopSplitAcrossPieces) {
  StopStrings stops({"<|im_end|>"});
  auto a = stops.push("The end<|im");
  EXPECT_EQ(a.text, "The end");  // "<|im" could begin the stop
  EXPECT_FALSE(a.stopped);
  auto b = stops.push("_en");
  EXPECT_EQ(b.text, "");
  auto c = stops.push("d|>after");
  EXPECT_EQ(c.text, "");
  EXPECT_TRUE(c.stopped);
}

TEST(StopStrings, HeldBackTextIsReleasedWhenItTurnsOutHarmless) {
  StopStrings stops({"User:"});
  EXPECT_EQ(stops.push("Use").text, "");
  EXPECT_EQ(stops.push("ful").text, "Useful");
  EXPECT_EQ(stops.push(" Us").text, " ");
  EXPECT_EQ(stops.finish(), "Us");  // the stream ended: nothing can complete the stop now
}

TEST(StopStrings, EarliestOfSeveralStopsWins) {
  StopStrings stops({"world", "lo, w"});
  EXPECT_EQ(stream(stops, {"Hel", "lo, world"}), "Hel");
  EXPECT_EQ(stops.matched(), "lo, w");
}

TEST(StopStrings, OneCharacterPerPiece) {
  StopStrings stops({"\n\n", "###"});
  const std::string text = "line one\nline two\n\nhidden";
  std::vector<std::string> pieces;
  for (char c : text) pieces.emplace_back(1, c);
  EXPECT_EQ(stream(stops, pieces), "line one\nline two");
}

TEST(StopStrings, OverlappingPrefixesAreHeldLongEnough) {
  // "aab" must be found in "aaab" although the first "aa" failed to continue into it.
  StopStrings stops({"aab"});
  EXPECT_EQ(stream(stops, {"x", "a", "a", "a", "b", "y"}), "xa");
}

TEST(StopStrings, MultibyteTextIsCutAtCharacterBoundaries) {
  StopStrings stops({"éclair"});
  auto a = stops.push("café é");
  EXPECT_EQ(a.text, "café ");
  auto b = stops.push("cl");
  EXPECT_EQ(b.text, "");
  auto c = stops.push("at");
  EXPECT_EQ(c.text, "éclat");
}

TEST(StopStrings, FinishResetsForANewStream) {
  StopStrings stops({"STOP"});
  EXPECT_TRUE(stops.push("xSTOP").stopped);
  EXPECT_EQ(stops.finish(), "");
  EXPECT_FALSE(stops.stopped());
  EXPECT_EQ(stops.push("again").text, "again");
}

}  // namespace
}  // namespace hearth::sampler
