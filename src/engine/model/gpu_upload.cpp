// GpuLayers, the once-per-context half: choosing the device and the layers, uploading weights,
// the KV cache of the offloaded layers, and adapters (gpu_layers.h).
#include <algorithm>
#include <mutex>
#include <string>

#include "core/error.h"
#include "core/log.h"
#include "engine/model/gpu_layers_impl.h"

namespace hearth::model {

namespace {

uint64_t matrix_bytes(const WeightMatrix& w) {
  return kernels::row_bytes(w.type, w.n_in) * static_cast<uint64_t>(w.n_out);
}

// The first device of the list that is a GPU (not a CPU-type Vulkan implementation), else the
// first one.
int default_device(const gpu::DeviceList& list) {
  for (const gpu::DeviceInfo& d : list.devices)
    if (d.kind != gpu::DeviceKind::cpu) return d.index;
  return list.devices.front().index;
}

// Why a layer cannot run on the GPU ("" when it can): a matrix whose type has no shader.
std::string unsupported_weights(const LayerWeights& w) {
  auto check = [](const WeightMatrix& m) { return m.data == nullptr || gpu::supports(m.type); };
  for (const WeightMatrix* m :
       {&w.wq, &w.wk, &w.wv, &w.wqkv, &w.wo, &w.ffn_gate, &w.ffn_up, &w.ffn_down, &w.ffn_router})
    if (!check(*m)) return "a " + std::string(gguf::tensor_type_name(m->type)) + " matrix";
  for (const auto* experts : {&w.expert_gate, &w.expert_up, &w.expert_down})
    if (!experts->empty() && !check(experts->front()))
      return "a " + std::string(gguf::tensor_type_name(experts->front().type)) + " expert matrix";
  return "";
}

// Opened devices no Context uses now, kept for the next one: opening a device builds its
// pipelines (slow on a CPU-type device, whose driver compiles each one), so a process that
// makes one Context after another (tests, a server reloading a model) opens each device once.
// A device serves one Context at a time (gpu.h), so each is lent to one GpuLayers.
std::mutex idle_mu;
std::vector<std::unique_ptr<gpu::Device>>& idle_devices() {
  static auto* idle = new std::vector<std::unique_ptr<gpu::Device>>();  // outlives the statics
  return *idle;
}

std::unique_ptr<gpu::Device> take_device(int index) {
  {
    std::lock_guard lock(idle_mu);
    auto& idle = idle_devices();
    for (auto it = idle.begin(); it != idle.end(); ++it)
      if ((*it)->info().index == index) {
        auto device = std::move(*it);
        idle.erase(it);
        return device;
      }
  }
  return gpu::open_device(index);
}

}  // namespace

GpuLayers::Impl::~Impl() {
  layers.clear();
  output_weights.reset();
  adapters.clear();
  scratch.clear();
  retired.clear();
  if (!device) return;
  std::lock_guard lock(idle_mu);
  idle_devices().push_back(std::move(device));
}

gpu::Span GpuPacker::add(const void* data, uint64_t bytes) {
  size = (size + 255) / 256 * 256;
  const gpu::Span span{buffer, size, bytes};
  if (buffer != nullptr && data != nullptr && bytes > 0) buffer->upload(data, bytes, size);
  size += bytes;
  return span;
}

gpu::Span GpuLayers::Impl::need(const std::string& slot, uint64_t bytes) {
  bytes = std::max<uint64_t>(bytes, 16);
  std::unique_ptr<gpu::Buffer>& b = scratch[slot];
  if (!b || b->size() < bytes) {
    if (b) retired.push_back(std::move(b));
    b = device->allocate(bytes + bytes / 2);  // room for somewhat larger batches
  }
  return {b.get(), 0, bytes};
}

void GpuLayers::Impl::upload_layer(int il) {
  const LayerWeights& w = model.weights().layers[static_cast<size_t>(il)];
  GpuLayer& g = layers[static_cast<size_t>(il)];
  // The stacked experts of one tensor, expert e at e × stride from the first.
  auto experts = [](GpuPacker& p, const std::vector<WeightMatrix>& list, gpu::Matrix& m,
                    uint64_t& stride) {
    if (list.empty()) return;
    const WeightMatrix& first = list.front();
    stride = matrix_bytes(first);
    for (size_t e = 1; e < list.size(); ++e)
      HEARTH_ASSERT(static_cast<const char*>(list[e].data) ==
                        static_cast<const char*>(first.data) + e * stride,
                    "GpuLayers: the experts of one tensor are not stored one after another");
    m = {p.add(first.data, stride * list.size()), first.type, first.n_in, first.n_out};
  };
  auto lay_out = [&](GpuPacker& p) {
    g.matrices.clear();
    for (const WeightMatrix* m :
         {&w.wq, &w.wk, &w.wv, &w.wqkv, &w.wo, &w.ffn_gate, &w.ffn_up, &w.ffn_down, &w.ffn_router})
      if (m->data != nullptr)
        g.matrices[m] = {p.add(m->data, matrix_bytes(*m)), m->type, m->n_in, m->n_out};
    g.attn_norm = p.add(w.attn_norm);
    g.bq = p.add(w.bq);
    g.bk = p.add(w.bk);
    g.bv = p.add(w.bv);
    g.q_norm = p.add(w.q_norm);
    g.k_norm = p.add(w.k_norm);
    g.attn_post_norm = p.add(w.attn_post_norm);
    g.ffn_norm = p.add(w.ffn_norm);
    g.ffn_post_norm = p.add(w.ffn_post_norm);
    experts(p, w.expert_gate, g.exp_gate, g.gate_stride);
    experts(p, w.expert_up, g.exp_up, g.up_stride);
    experts(p, w.expert_down, g.exp_down, g.down_stride);
  };
  GpuPacker count;
  lay_out(count);
  g.weights = device->allocate(count.size);
  GpuPacker place{g.weights.get()};
  lay_out(place);
}

void GpuLayers::Impl::upload_output() {
  const ModelWeights& mw = model.weights();
  auto lay_out = [&](GpuPacker& p) {
    output_matrix = {p.add(mw.output.data, matrix_bytes(mw.output)), mw.output.type, mw.output.n_in,
                     mw.output.n_out};
    output_norm = p.add(mw.output_norm);
  };
  GpuPacker count;
  lay_out(count);
  output_weights = device->allocate(count.size);
  GpuPacker place{output_weights.get()};
  lay_out(place);
}

void GpuLayers::Impl::grow_local_cache(int64_t cells) {
  // The CPU cache's local pool grew (KvCache::grow_local): the device's rows follow, the old
  // ones copied over (rare: only a batch larger than the room kept for one gets here).
  for (GpuLayer& g : layers) {
    if (!g.local || g.k == nullptr || g.cells >= cells) continue;
    for (std::unique_ptr<gpu::Buffer>* kv : {&g.k, &g.v}) {
      std::vector<uint8_t> old(static_cast<size_t>(g.cells) * kv_row);
      (*kv)->download(old.data(), old.size());
      auto grown = device->allocate(static_cast<uint64_t>(cells) * kv_row);
      grown->upload(old.data(), old.size());
      *kv = std::move(grown);
    }
    g.cells = cells;
  }
}

GpuLayers::GpuLayers(const Model& model, const ContextOptions& options)
    : impl_(std::make_unique<Impl>(model)) {
  Impl& s = *impl_;
  const Hparams& hp = model.hparams();
  const gpu::DeviceList list = gpu::list_devices();
  if (list.devices.empty())
    throw Error(ErrorKind::unavailable,
                "GPU layers were asked for, but no Vulkan device was found (" +
                    (list.note.empty() ? std::string("none listed") : list.note) +
                    "); use --gpu-layers 0 or auto to run on the CPU");
  int index = options.gpu_device;
  if (index < 0) index = default_device(list);
  if (index >= static_cast<int>(list.devices.size()))
    throw Error(ErrorKind::invalid_input,
                "GPU device " + std::to_string(index) + " does not exist: this machine has " +
                    std::to_string(list.devices.size()) + " Vulkan device(s) (see hearth hw)");
  s.device = take_device(index);
  const gpu::DeviceInfo& info = s.device->info();

  // Which layers: the last gpu_layers (all when -1 or more than there are), less those whose
  // weights have a type without a shader.
  const int n = options.gpu_layers < 0 ? hp.n_layer : std::min(options.gpu_layers, hp.n_layer);
  s.on.assign(static_cast<size_t>(hp.n_layer), 0);
  s.layers.resize(static_cast<size_t>(hp.n_layer));
  std::string cpu_layers;
  for (int il = hp.n_layer - n; il < hp.n_layer; ++il) {
    const std::string why = unsupported_weights(model.weights().layers[static_cast<size_t>(il)]);
    if (!why.empty()) {
      spdlog::warn("layer {} stays on the CPU: {} has no GPU shader", il, why);
      cpu_layers += (cpu_layers.empty() ? "" : ", ") + std::to_string(il);
      continue;
    }
    s.on[static_cast<size_t>(il)] = 1;
  }
  const ModelWeights& mw = model.weights();
  s.output = n == hp.n_layer && cpu_layers.empty() && gpu::supports(mw.output.type);
  if (n == hp.n_layer && cpu_layers.empty() && !s.output)
    spdlog::warn("the output matrix stays on the CPU: its type {} has no GPU shader",
                 gguf::tensor_type_name(mw.output.type));

  // The KV cache's type on the device.
  switch (options.kv_type) {
    case KvType::f32:
      s.kv_type = gpu::KvCells::f32;
      break;
    case KvType::f16:
      s.kv_type = gpu::KvCells::f16;
      break;
    case KvType::q8_0:
      s.kv_type = gpu::KvCells::f16;
      spdlog::info("KV cache: the GPU layers keep F16 cells (q8_0 is for the CPU layers)");
      break;
  }
  s.kv_row = static_cast<uint64_t>(hp.n_kv_dim()) * (s.kv_type == gpu::KvCells::f32 ? 4 : 2);
  // The local layers' pool starts as the CPU cache's does (KvCache's constructor) and grows
  // with it.
  const int64_t local_cells =
      std::min<int64_t>(options.n_ctx, int64_t{std::max(1, options.n_seq_max)} * hp.n_swa +
                                           KvCache::kLocalBatchCells);

  for (int il = 0; il < hp.n_layer; ++il) {
    if (!s.on[static_cast<size_t>(il)]) continue;
    s.upload_layer(il);
    GpuLayer& g = s.layers[static_cast<size_t>(il)];
    g.local = hp.sliding(il);
    g.cells = g.local ? local_cells : options.n_ctx;
    g.k = s.device->allocate(static_cast<uint64_t>(g.cells) * s.kv_row);
    g.v = s.device->allocate(static_cast<uint64_t>(g.cells) * s.kv_row);
  }
  if (s.output) s.upload_output();
  add_adapters(options.adapters);
  spdlog::info("GPU: {} of {} layers{} on {} ({}), {:.1f} MiB of device memory", n_gpu_layers(),
               hp.n_layer, s.output ? " and the output" : "", info.name,
               gpu::device_kind_name(info.kind),
               static_cast<double>(s.device->allocated_bytes()) / (1 << 20));
}

GpuLayers::~GpuLayers() = default;

const std::vector<uint8_t>& GpuLayers::layers() const {
  return impl_->on;
}

int GpuLayers::n_gpu_layers() const {
  return static_cast<int>(std::count(impl_->on.begin(), impl_->on.end(), 1));
}

bool GpuLayers::output_on_gpu() const {
  return impl_->output;
}

int GpuLayers::range_end(int first) const {
  int end = first;
  while (end < static_cast<int>(impl_->on.size()) && impl_->on[static_cast<size_t>(end)]) ++end;
  return end;
}

uint64_t GpuLayers::device_bytes() const {
  return impl_->device->allocated_bytes();
}

void GpuLayers::add_adapters(std::span<const AppliedLora> adapters) {
  Impl& s = *impl_;
  // Adapters only the device still holds are gone from every sequence: drop them.
  for (auto it = s.adapters.begin(); it != s.adapters.end();)
    it = it->second.adapter.use_count() == 1 ? s.adapters.erase(it) : std::next(it);
  for (const AppliedLora& applied : adapters)
    for (const LoraWeight& w : applied.adapter->weights) {
      if (s.adapters.contains(w.a.data())) continue;
      GpuLora g;
      g.adapter = applied.adapter;
      auto lay_out = [&](GpuPacker& p) {
        g.a = {p.add(w.a), gguf::TensorType::f32, w.n_in, w.rank};
        g.b = {p.add(w.b), gguf::TensorType::f32, w.rank, w.n_out};
      };
      GpuPacker count;
      lay_out(count);
      g.buffer = s.device->allocate(count.size);
      GpuPacker place{g.buffer.get()};
      lay_out(place);
      s.adapters.emplace(w.a.data(), std::move(g));
    }
}

}  // namespace hearth::model
