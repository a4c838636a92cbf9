#include "train/adapter_file.h"

#include "core/error.h"
#include "engine/gguf/gguf.h"
#include "engine/model/arch.h"
#include "engine/model/lora.h"

namespace hearth::train {

namespace {

using model::lora_keys::kSuffixA;
using model::lora_keys::kSuffixB;

[[noreturn]] void corrupt(const gguf::File& file, const std::string& what) {
  throw Error(ErrorKind::corrupt_file, file.name() + ": " + what);
}

}  // namespace

LoraAdapter read_adapter(const std::filesystem::path& path) {
  // The one reader of the format (engine/model/lora.h) checks the file; training also needs the
  // alpha that fixes the update's scale.
  const gguf::File file = gguf::File::open(path);
  if (!file.get_float(std::string(model::lora_keys::kAlpha)) &&
      file.get_string(std::string(model::lora_keys::kGeneralType)).value_or("") == "adapter")
    corrupt(file, "adapter.lora.alpha is missing (training needs the adapter's alpha)");
  return LoraAdapter::read(file);
}

void write_adapter(const LoraAdapter& adapter, const std::filesystem::path& path,
                   const crypto::DataKey* seal, std::string_view name) {
  gguf::Writer writer;
  if (!name.empty()) writer.set("general.name", gguf::Value::of_string(std::string(name)));
  writer.set(std::string(model::keys::kArchitecture), gguf::Value::of_string(adapter.arch));
  writer.set("general.type", gguf::Value::of_string("adapter"));
  writer.set("adapter.type", gguf::Value::of_string("lora"));
  writer.set("adapter.lora.alpha", gguf::Value::of_f32(adapter.alpha));
  auto bytes = [](const std::vector<float>& v) {
    return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(v.data()),
                                    v.size() * sizeof(float));
  };
  for (const LoraWeight& p : adapter.weights) {
    writer.add_tensor(p.base + std::string(kSuffixA), gguf::TensorType::f32, {p.n_in, p.rank},
                      bytes(p.a));
    writer.add_tensor(p.base + std::string(kSuffixB), gguf::TensorType::f32, {p.rank, p.n_out},
                      bytes(p.b));
  }
  writer.write(path, seal);
}

}  // namespace hearth::train
