// A loaded language model: hyperparameters, weights and tokenizer, immutable after load().
//
// Supported architectures (general.architecture): llama (including Llama 3 rope_freqs and
// Mixtral-style mixture of experts), qwen2, phi3, qwen3 and gemma3 (arch.cpp's table). The weights stay in the file's read-only
// mapping, which the Model keeps alive; one Model is shared by any number of Contexts
// (context.h), which hold all per-request state.
#pragma once

#include <filesystem>
#include <memory>

#include "engine/gguf/gguf.h"
#include "engine/model/weights.h"
#include "engine/tokenizer/tokenizer.h"

namespace hearth::model {

class Model {
 public:
  // Maps and checks a GGUF model file. Errors:
  //   not_found, io             the file cannot be opened or mapped;
  //   corrupt_file              a malformed file, a missing metadata key or tensor, or a tensor
  //                             whose shape differs from what the architecture needs (the
  //                             message names the tensor and both shapes);
  //   unsupported               an architecture, tensor type or tokenizer hearth does not run
  //                             (the message lists the supported architectures).
  static std::shared_ptr<const Model> load(const std::filesystem::path& path);
  // The same from an already parsed file (its bytes must stay valid while the Model lives).
  static std::shared_ptr<const Model> from_file(gguf::File file);

  const Hparams& hparams() const { return hparams_; }
  const ModelWeights& weights() const { return weights_; }
  const tokenizer::Tokenizer& tokenizer() const { return tokenizer_; }
  const gguf::File& file() const { return file_; }
  int n_vocab() const { return hparams_.n_vocab; }

  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

 private:
  Model(gguf::File file, tokenizer::Tokenizer tokenizer)
      : file_(std::move(file)), tokenizer_(std::move(tokenizer)) {}

  gguf::File file_;  // owns the mapping the weight views point into
  tokenizer::Tokenizer tokenizer_;
  Hparams hparams_;
  ModelWeights weights_;
};

}  // namespace hearth::model
