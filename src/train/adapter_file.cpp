#include "train/adapter_file.h"

#include <cstring>
#include <map>

#include "core/error.h"
#include "engine/gguf/gguf.h"
#include "engine/model/arch.h"

namespace hearth::train {

namespace {

constexpr std::string_view kSuffixA = ".lora_a";
constexpr std::string_view kSuffixB = ".lora_b";

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() > suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

[[noreturn]] void corrupt(const gguf::File& file, const std::string& what) {
  throw Error(ErrorKind::corrupt_file, file.name() + ": " + what);
}

std::vector<float> copy_f32(const gguf::File& file, const gguf::TensorInfo& t) {
  if (t.type != gguf::TensorType::f32) corrupt(file, "LoRA tensor " + t.name + " is not F32");
  std::vector<float> out(static_cast<size_t>(t.n_elements()));
  const auto bytes = file.tensor_data(t);
  std::memcpy(out.data(), bytes.data(), out.size() * sizeof(float));
  return out;
}

}  // namespace

const LoraPair* LoraAdapter::find(std::string_view weight) const {
  for (const LoraPair& p : pairs)
    if (p.weight == weight) return &p;
  return nullptr;
}

LoraPair* LoraAdapter::find(std::string_view weight) {
  for (LoraPair& p : pairs)
    if (p.weight == weight) return &p;
  return nullptr;
}

LoraAdapter read_adapter(const std::filesystem::path& path) {
  const gguf::File file = gguf::File::open(path);
  if (file.get_string("general.type").value_or("") != "adapter" ||
      file.get_string("adapter.type").value_or("") != "lora")
    corrupt(file, "not a LoRA adapter (general.type must be \"adapter\", adapter.type \"lora\")");
  const auto alpha = file.get_float("adapter.lora.alpha");
  if (!alpha) corrupt(file, "adapter.lora.alpha is missing");

  LoraAdapter adapter;
  adapter.arch = file.get_string(model::keys::kArchitecture).value_or("");
  adapter.alpha = static_cast<float>(*alpha);
  // Pair the factors by base name, keeping the order in which each base first appears.
  std::map<std::string, std::pair<const gguf::TensorInfo*, const gguf::TensorInfo*>> found;
  std::vector<std::string> order;
  for (const gguf::TensorInfo& t : file.tensors()) {
    const bool is_a = ends_with(t.name, kSuffixA);
    if (!is_a && !ends_with(t.name, kSuffixB)) corrupt(file, "unexpected tensor " + t.name);
    std::string base = t.name.substr(0, t.name.size() - kSuffixA.size());
    auto [it, added] = found.try_emplace(base);
    if (added) order.push_back(base);
    (is_a ? it->second.first : it->second.second) = &t;
  }
  for (const std::string& base : order) {
    const auto [ta, tb] = found[base];
    if (!ta)
      corrupt(file, base + std::string(kSuffixB) + " has no " + base + std::string(kSuffixA));
    if (!tb)
      corrupt(file, base + std::string(kSuffixA) + " has no " + base + std::string(kSuffixB));
    if (ta->ne.size() != 2 || tb->ne.size() != 2 || ta->ne[1] != tb->ne[0])
      corrupt(file, "the shapes of " + base + "'s lora_a and lora_b do not fit together");
    LoraPair pair;
    pair.weight = base;
    pair.n_in = ta->ne[0];
    pair.rank = ta->ne[1];
    pair.n_out = tb->ne[1];
    pair.a = copy_f32(file, *ta);
    pair.b = copy_f32(file, *tb);
    adapter.pairs.push_back(std::move(pair));
  }
  return adapter;
}

void write_adapter(const LoraAdapter& adapter, const std::filesystem::path& path) {
  gguf::Writer writer;
  writer.set(std::string(model::keys::kArchitecture), gguf::Value::of_string(adapter.arch));
  writer.set("general.type", gguf::Value::of_string("adapter"));
  writer.set("adapter.type", gguf::Value::of_string("lora"));
  writer.set("adapter.lora.alpha", gguf::Value::of_f32(adapter.alpha));
  auto bytes = [](const std::vector<float>& v) {
    return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(v.data()),
                                    v.size() * sizeof(float));
  };
  for (const LoraPair& p : adapter.pairs) {
    writer.add_tensor(p.weight + std::string(kSuffixA), gguf::TensorType::f32, {p.n_in, p.rank},
                      bytes(p.a));
    writer.add_tensor(p.weight + std::string(kSuffixB), gguf::TensorType::f32, {p.rank, p.n_out},
                      bytes(p.b));
  }
  writer.write(path);
}

}  // namespace hearth::train
