#include "engine/quantize/model_quantizer.h"

#include <algorithm>
#include <memory>

#include "core/error.h"
#include "core/thread_pool.h"
#include "engine/kernels/kernels.h"
#include "engine/quantize/quantize.h"

namespace hearth::quantize {
namespace {

constexpr int64_t kChunkValues = int64_t{1} << 22;  // values per chunk of rows (16 MiB as F32)

bool decodes_exactly(TensorType t) {
  return t == TensorType::f32 || t == TensorType::f16 || t == TensorType::bf16;
}

}  // namespace

struct RowConverter::Impl {
  explicit Impl(size_t n) : pool(n) {}
  ThreadPool pool;
  std::vector<float> f32;
  std::vector<uint8_t> out;

  // Splits rows [0, n) into about 4 tasks per thread and runs fn(first, count) on each.
  void split(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
    const auto n_tasks = static_cast<int64_t>(std::min<size_t>(pool.size() * 4 + 1, static_cast<size_t>(n)));
    pool.parallel_for(static_cast<size_t>(n_tasks), [&](size_t k) {
      const int64_t first = n * static_cast<int64_t>(k) / n_tasks;
      const int64_t last = n * static_cast<int64_t>(k + 1) / n_tasks;
      if (last > first) fn(first, last - first);
    });
  }
};

RowConverter::RowConverter(size_t n_threads) : impl_(std::make_unique<Impl>(n_threads)) {}
RowConverter::~RowConverter() = default;
size_t RowConverter::n_threads() const { return impl_->pool.size(); }

void RowConverter::convert(TensorType from, const uint8_t* src, int64_t ne0, int64_t rows,
                           TensorType to, StreamWriter& writer) {
  const size_t in_row = row_size(from, ne0);
  generate(
      ne0, rows, to,
      [&](int64_t first, int64_t n, float* out) {
        for (int64_t r = 0; r < n; ++r)
          dequantize_row(from, src + static_cast<size_t>(first + r) * in_row, out + r * ne0, ne0);
      },
      writer);
}

void RowConverter::generate(int64_t ne0, int64_t rows, TensorType to,
                            const std::function<void(int64_t, int64_t, float*)>& fill,
                            StreamWriter& writer) {
  const int64_t chunk_rows = std::max<int64_t>(1, kChunkValues / ne0);
  const size_t out_row = row_size(to, ne0);
  for (int64_t first = 0; first < rows; first += chunk_rows) {
    const int64_t n = std::min(chunk_rows, rows - first);
    impl_->f32.resize(static_cast<size_t>(n * ne0));
    impl_->out.resize(static_cast<size_t>(n) * out_row);
    impl_->split(n, [&](int64_t r0, int64_t count) {
      float* f = impl_->f32.data() + r0 * ne0;
      fill(first + r0, count, f);
      quantize_rows(to, f, impl_->out.data() + static_cast<size_t>(r0) * out_row, count, ne0);
    });
    writer.append(impl_->out);
  }
}

std::vector<std::pair<std::string, gguf::Value>> quantized_metadata(
    const std::vector<std::pair<std::string, gguf::Value>>& source, uint32_t file_type) {
  std::vector<std::pair<std::string, gguf::Value>> out;
  for (const auto& kv : source) {
    if (kv.first == "general.quantization_version" || kv.first == "general.file_type" ||
        kv.first == "split.no" || kv.first == "split.count" || kv.first == "split.tensors.count")
      continue;
    out.push_back(kv);
  }
  out.emplace_back("general.quantization_version", gguf::Value::of_u32(2));
  out.emplace_back("general.file_type", gguf::Value::of_u32(file_type));
  return out;
}

QuantizeSummary quantize_file(const std::filesystem::path& in, const std::filesystem::path& out,
                              const Preset& preset, const QuantizeCallbacks& callbacks,
                              size_t n_threads) {
  return rewrite_file(in, out, &preset, {}, callbacks, n_threads);
}

QuantizeSummary rewrite_file(const std::filesystem::path& in, const std::filesystem::path& out,
                             const Preset* preset, std::span<const TensorEdit> edits,
                             const QuantizeCallbacks& callbacks, size_t n_threads) {
  const gguf::File file = gguf::File::open(in);
  const ModelFacts facts = model_facts(file);

  std::vector<TensorDesc> descs;
  for (const auto& t : file.tensors()) descs.push_back({t.name, t.ne, t.type});
  const std::vector<size_t> order = llama_model_order(descs);
  std::vector<TensorDesc> ordered;
  for (size_t i : order) ordered.push_back(descs[i]);
  std::vector<TensorType> types;
  if (preset != nullptr) {
    types = plan_tensor_types(*preset, facts, ordered);
  } else {
    for (const auto& d : ordered) types.push_back(d.type);
  }
  auto edit_of = [&](const std::string& name) -> const TensorEdit* {
    for (const auto& e : edits)
      if (e.name == name) return &e;
    return nullptr;
  };
  for (const auto& e : edits)
    if (file.find_tensor(e.name) == nullptr)
      throw Error(ErrorKind::invalid_input, file.name() + " has no tensor '" + e.name + "'");

  std::vector<TensorSpec> specs;
  for (size_t k = 0; k < ordered.size(); ++k) specs.push_back({ordered[k].name, types[k], ordered[k].ne});

  // Refuse before creating anything when a conversion is impossible.
  bool warned_requantize = false;
  for (size_t k = 0; k < ordered.size(); ++k) {
    const TensorType from = ordered[k].type;
    const bool edited = edit_of(ordered[k].name) != nullptr;
    if (from == types[k] && !edited) continue;
    if (edited && !is_supported(types[k]))
      throw Error(ErrorKind::unsupported,
                  file.name() + ": tensor '" + ordered[k].name + "' would be written as " +
                      std::string(gguf::tensor_type_name(types[k])) +
                      ", which hearth cannot encode; choose a type with --type");
    if (!decodes_exactly(from)) {
      const kernels::TypeOps* ops = kernels::type_ops(from, kernels::KernelSet::reference);
      if (ops == nullptr || ops->to_float == nullptr)
        throw Error(ErrorKind::unsupported,
                    file.name() + ": tensor '" + ordered[k].name + "' is " +
                        std::string(gguf::tensor_type_name(from)) +
                        ", which hearth cannot decode to requantize");
      if (!warned_requantize && callbacks.on_warning && preset != nullptr) {
        callbacks.on_warning("the input holds already quantized tensors (" +
                             std::string(gguf::tensor_type_name(from)) +
                             "); requantizing them loses more precision than quantizing from "
                             "F16/F32");
      }
      warned_requantize = true;
    }
  }

  StreamWriter writer(out,
                      preset != nullptr ? quantized_metadata(file.metadata(), preset->file_type)
                                        : file.metadata(),
                      specs, file.version());
  RowConverter converter(n_threads);
  QuantizeSummary summary;
  for (size_t k = 0; k < ordered.size(); ++k) {
    const gguf::TensorInfo& info = file.tensors()[order[k]];
    const std::span<const uint8_t> data = file.tensor_data(info);
    const TensorEdit* edit = edit_of(info.name);
    TensorProgress p;
    p.index = k;
    p.count = ordered.size();
    p.name = info.name;
    p.ne = info.ne;
    p.from = info.type;
    p.to = types[k];
    p.bytes_in = info.n_bytes;
    const int64_t ne0 = info.ne[0];
    if (edit != nullptr) {
      const size_t in_row = row_size(info.type, ne0);
      converter.generate(
          ne0, info.n_elements() / ne0, types[k],
          [&](int64_t first, int64_t n, float* rows) {
            for (int64_t r = 0; r < n; ++r)
              dequantize_row(info.type, data.data() + static_cast<size_t>(first + r) * in_row,
                             rows + r * ne0, ne0);
            edit->apply(first, n, rows);
          },
          writer);
      p.converted = true;
    } else if (info.type == types[k]) {
      writer.append(data);
    } else {
      converter.convert(info.type, data.data(), ne0, info.n_elements() / ne0, types[k], writer);
      p.converted = true;
    }
    p.bytes_out = writer.tensor_bytes(k);
    summary.bytes_in += p.bytes_in;
    summary.bytes_out += p.bytes_out;
    ++(p.converted ? summary.n_converted : summary.n_copied);
    if (callbacks.on_tensor) callbacks.on_tensor(p);
  }
  writer.finish();
  summary.file_size = writer.file_size();
  return summary;
}

}  // namespace hearth::quantize
