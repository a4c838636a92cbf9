// A model that says what a test wants: a conformance model (llama-gqa-f32: llama, 64 wide, the
// tiny-spm vocabulary) whose weights are rewritten so that greedy decoding follows a script.
//
// How: every layer's attention output and FFN down projection are zero, so each layer adds
// nothing and the last hidden state is the current token's embedding. Each scripted token gets
// its own axis of the 64-dimensional embedding space, and the (untied) output matrix maps that
// axis to the token that must follow. A token's successor therefore depends on that token only:
// the script's tokens must be distinct (and the prompt's last token starts it).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace hearth::test {

struct Script {
  std::string after;  // the prompt text whose last token starts the script (e.g. "<think>\n")
  std::string says;   // what the model then writes, before its end-of-sequence token
  std::string chat_template;  // tokenizer.chat_template of the written file
};

// Writes the scripted model to `path`. Fails the test (gtest) when the script's tokens repeat or
// do not fit the embedding's axes.
// `conformance` is the conformance folder (HEARTH_REQUIRE_CONFORMANCE).
void write_scripted_model(const std::filesystem::path& conformance,
                          const std::filesystem::path& path, const Script& script);

}  // namespace hearth::test
