// The exact-mode `hearth train` recipe of the conformance pack's llama case, for `steps` steps:
// what the resume and disk-full tests run (the pack's train/README.md gives the settings).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace hearth::test {

inline std::vector<std::string> train_recipe(const std::filesystem::path& dir,
                                             const std::filesystem::path& out, int steps) {
  const std::filesystem::path t = dir / "train";
  return {"train", (dir / "models" / "llama-gqa-f32.gguf").string(),
          "--data", (t / "llama-gqa-f32.train.jsonl").string(),
          "--init-adapter", (t / "llama-gqa-f32.init-lora.gguf").string(),
          "--steps", std::to_string(steps), "--lr", "0.001", "--batch", "1", "--no-shuffle",
          "--schedule", "constant", "--warmup", "0", "--clip", "0", "--threads", "1",
          "--out", out.string()};
}

}  // namespace hearth::test
