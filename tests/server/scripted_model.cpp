// See scripted_model.h.
#include "server/scripted_model.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <list>
#include <set>

#include "engine/gguf/gguf.h"
#include "engine/tokenizer/tokenizer.h"
#include "support/test_support.h"

namespace hearth::test {

void write_scripted_model(const std::filesystem::path& conformance,
                          const std::filesystem::path& path, const Script& script) {
  const auto base = gguf::File::open(conformance / "models" / "llama-gqa-f32.gguf");
  const auto tok = tokenizer::Tokenizer::from_gguf(base);
  const auto n_embd = *base.get_int("llama.embedding_length");
  const int64_t n_vocab = tok.n_vocab();
  // The chain: the prompt's last token, then what the model says, then EOS.
  std::vector<int32_t> chain;
  const auto before = tok.encode(script.after, /*add_special=*/false, /*parse_special=*/false);
  ASSERT_FALSE(before.empty());
  chain.push_back(before.back());
  for (int32_t id : tok.encode(script.says, /*add_special=*/false, /*parse_special=*/false)) chain.push_back(id);
  // A SentencePiece vocabulary puts a "▁" before the text: tokens that only exist at the start
  // of a text would differ when decoded mid-stream; the script's text is chosen to avoid it.
  chain.push_back(tok.eos());
  std::set<int32_t> seen(chain.begin(), chain.end() - 1);
  ASSERT_EQ(seen.size(), chain.size() - 1) << "the script repeats a token";
  ASSERT_LE(static_cast<int64_t>(chain.size()), n_embd) << "the script is longer than the axes";

  std::list<std::vector<float>> keep;  // tensor data must outlive write()
  auto floats = [&](size_t n) -> std::vector<float>& { return keep.emplace_back(n, 0.0f); };
  auto bytes = [](const std::vector<float>& v) {
    return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(v.data()), v.size() * 4);
  };
  gguf::Writer w;
  for (const auto& [key, value] : base.metadata())
    if (key != "tokenizer.chat_template") w.set(key, value);
  w.set("tokenizer.chat_template", gguf::Value::of_string(script.chat_template));
  for (const auto& t : base.tensors()) {
    const std::string& name = t.name;
    auto& data = floats(static_cast<size_t>(t.n_elements()));
    if (name == "token_embd.weight") {
      // Token chain[i] (the ones that have a successor) sits on axis i.
      for (size_t i = 0; i + 1 < chain.size(); ++i)
        data[static_cast<size_t>(chain[i]) * static_cast<size_t>(n_embd) + i] = 1.0f;
    } else if (name.ends_with("attn_output.weight") || name.ends_with("ffn_down.weight")) {
      // zero: the layer adds nothing
    } else if (name == "output_norm.weight") {
      std::fill(data.begin(), data.end(), 1.0f);  // every axis reaches the output as it is
    } else {
      const auto src = base.tensor_data(t);
      std::memcpy(data.data(), src.data(), src.size());
    }
    w.add_tensor(name, t.type, t.ne, bytes(data));
  }
  // output.weight [n_embd, n_vocab]: the row of token chain[i+1] reads axis i.
  auto& out = floats(static_cast<size_t>(n_embd * n_vocab));
  for (size_t i = 0; i + 1 < chain.size(); ++i)
    out[static_cast<size_t>(chain[i + 1]) * static_cast<size_t>(n_embd) + i] = 10.0f;
  w.add_tensor("output.weight", gguf::TensorType::f32, {n_embd, n_vocab}, bytes(out));
  w.write(path);
}

}  // namespace hearth::test
