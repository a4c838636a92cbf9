// Context: option and batch checks, KV cell bookkeeping. The forward pass is in forward.cpp.
#include "engine/model/context.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <utility>

#include "core/error.h"
#include "engine/model/gpu_layers.h"

namespace hearth::model {

namespace {

KvCache make_cache(const Model& model, const ContextOptions& o, const GpuLayers* gpu) {
  if (o.n_ctx <= 0 || o.n_seq_max <= 0)
    throw Error(ErrorKind::invalid_input, "context options: n_ctx (" + std::to_string(o.n_ctx) +
                                              ") and n_seq_max (" + std::to_string(o.n_seq_max) +
                                              ") must be positive");
  const Hparams& hp = model.hparams();
  if (o.kv_type == KvType::q8_0 && hp.head_dim % 32 != 0)
    throw Error(ErrorKind::invalid_input,
                "KV cache q8_0: this model's head size (" + std::to_string(hp.head_dim) +
                    ") is not a multiple of 32; use f16 or f32");
  return KvCache(hp.n_layer, hp.n_kv_dim(), o.n_ctx, o.kv_type, hp.swa_layers, hp.n_swa,
                 o.n_seq_max, gpu != nullptr ? gpu->layers() : std::vector<uint8_t>{});
}

std::unique_ptr<GpuLayers> make_gpu(const Model& model, const ContextOptions& o) {
  if (o.gpu_layers == 0) return nullptr;
  if (o.n_ctx <= 0 || o.n_seq_max <= 0) return nullptr;  // make_cache() says why
  auto gpu = std::make_unique<GpuLayers>(model, o);
  if (gpu->n_gpu_layers() == 0) return nullptr;  // every layer asked for stays on the CPU
  return gpu;
}

}  // namespace

Context::Context(std::shared_ptr<const Model> model, ContextOptions options)
    : model_(std::move(model)),
      options_(std::move(options)),
      lora_(*model_, options_.adapters),
      gpu_(make_gpu(*model_, options_)),
      kv_(make_cache(*model_, options_, gpu_.get())) {}

Context::Context(Context&&) noexcept = default;
Context::~Context() = default;

int Context::n_gpu_layers() const { return gpu_ ? gpu_->n_gpu_layers() : 0; }
uint64_t Context::gpu_bytes() const { return gpu_ ? gpu_->device_bytes() : 0; }

void Context::check_batch(std::span<const BatchEntry> batch) const {
  const int n_vocab = model_->n_vocab();
  std::set<std::pair<int, int>> seen;
  int n_new = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    const BatchEntry& e = batch[i];
    const std::string where = "batch entry " + std::to_string(i) + ": ";
    if (e.token < 0 || e.token >= n_vocab)
      throw Error(ErrorKind::invalid_input,
                  where + "token " + std::to_string(e.token) +
                      " is outside the vocabulary (n_vocab = " + std::to_string(n_vocab) + ")");
    if (e.seq_id < 0 || e.seq_id >= options_.n_seq_max)
      throw Error(ErrorKind::invalid_input,
                  where + "sequence id " + std::to_string(e.seq_id) + " is outside [0, " +
                      std::to_string(options_.n_seq_max) + "); raise n_seq_max");
    if (e.pos < 0)
      throw Error(ErrorKind::invalid_input,
                  where + "position " + std::to_string(e.pos) + " is negative");
    if (e.pos >= options_.n_ctx)
      throw Error(ErrorKind::invalid_input,
                  "the prompt is longer than the context: position " + std::to_string(e.pos) +
                      " of sequence " + std::to_string(e.seq_id) +
                      " does not fit in n_ctx = " + std::to_string(options_.n_ctx) +
                      " tokens; use a larger context or a shorter prompt");
    if (!kv_.window_intact(e.seq_id, e.pos))
      throw Error(ErrorKind::invalid_input,
                  where + "position " + std::to_string(e.pos) + " of sequence " +
                      std::to_string(e.seq_id) +
                      " needs keys that the sliding-window layers have already dropped; remove "
                      "the sequence and decode it again");
    if (!seen.emplace(e.seq_id, e.pos).second)
      throw Error(ErrorKind::invalid_input, where + "sequence " + std::to_string(e.seq_id) +
                                                " has position " + std::to_string(e.pos) +
                                                " twice in the batch");
    if (!kv_.contains(e.seq_id, e.pos)) ++n_new;
  }
  if (n_new > kv_.n_free())
    throw Error(ErrorKind::invalid_input,
                "the context is full: the batch needs " + std::to_string(n_new) +
                    " free cells but " + std::to_string(kv_.n_free()) +
                    " of n_ctx = " + std::to_string(options_.n_ctx) +
                    " are free; remove finished sequences or use a larger context");
}

void Context::claim_cells(std::span<const BatchEntry> batch, std::vector<KvCache::Cell>& cells,
                          std::vector<const BatchEntry*>& added) {
  cells.reserve(batch.size());
  for (const BatchEntry& e : batch) {
    if (!kv_.contains(e.seq_id, e.pos)) added.push_back(&e);
    cells.push_back(kv_.claim(e.seq_id, e.pos));
  }
}

Logits Context::decode(std::span<const BatchEntry> batch) {
  check_batch(batch);
  if (batch.empty()) return Logits(model_->n_vocab(), {});
  std::vector<KvCache::Cell> cells;
  std::vector<const BatchEntry*> added;  // entries that took a new cell
  claim_cells(batch, cells, added);
  size_t n_out = 0;
  for (const BatchEntry& e : batch) n_out += e.want_logits ? 1 : 0;
  std::vector<float> logits(n_out * static_cast<size_t>(model_->n_vocab()));
  try {
    forward(batch, cells, logits.data());
  } catch (...) {
    // A kernel refused (say, a type without quantized arithmetic): the new cells hold nothing
    // usable, so give them back. Replaced positions of existing tokens stay replaced.
    for (const BatchEntry* e : added) kv_.release(e->seq_id, e->pos);
    throw;
  }
  prune_windows(batch);
  return Logits(model_->n_vocab(), std::move(logits));
}

std::vector<float> Context::embed(std::span<const int32_t> tokens, int seq_id) {
  if (tokens.empty()) throw Error(ErrorKind::invalid_input, "embed: the text gives no tokens");
  if (seq_id >= 0 && seq_id < options_.n_seq_max && kv_.n_past(seq_id) > 0)
    throw Error(ErrorKind::invalid_input,
                "embed: sequence " + std::to_string(seq_id) + " is in use; pass an empty one");
  const int E = model_->hparams().n_embd;
  std::vector<double> sum(static_cast<size_t>(E), 0.0);
  constexpr size_t kBatch = 512;
  try {
    std::vector<BatchEntry> batch;
    std::vector<float> hidden;
    for (size_t start = 0; start < tokens.size(); start += kBatch) {
      const size_t end = std::min(tokens.size(), start + kBatch);
      batch.clear();
      for (size_t i = start; i < end; ++i)
        batch.push_back({tokens[i], static_cast<int32_t>(i), seq_id, false});
      check_batch(batch);
      std::vector<KvCache::Cell> cells;
      std::vector<const BatchEntry*> added;
      claim_cells(batch, cells, added);
      hidden.assign(batch.size() * static_cast<size_t>(E), 0.0f);
      forward(batch, cells, nullptr, hidden.data());
      prune_windows(batch);
      for (size_t t = 0; t < batch.size(); ++t)
        for (int c = 0; c < E; ++c) sum[static_cast<size_t>(c)] += hidden[t * E + c];
    }
  } catch (...) {
    kv_.remove_sequence(seq_id);
    throw;
  }
  kv_.remove_sequence(seq_id);
  // Mean then L2 norm: the mean's 1/n cancels in the normalisation, but keep it for clarity.
  double norm2 = 0;
  for (double& v : sum) {
    v /= static_cast<double>(tokens.size());
    norm2 += v * v;
  }
  const double inv = norm2 > 0 ? 1.0 / std::sqrt(norm2) : 0.0;
  std::vector<float> out(static_cast<size_t>(E));
  for (size_t c = 0; c < out.size(); ++c) out[c] = static_cast<float>(sum[c] * inv);
  return out;
}

namespace {

bool same_adapters(const std::vector<AppliedLora>& a, const std::vector<AppliedLora>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].adapter != b[i].adapter || a[i].scale != b[i].scale) return false;
  return true;
}

}  // namespace

void Context::set_sequence_adapters(int seq_id, std::vector<AppliedLora> adapters) {
  if (seq_id < 0 || seq_id >= options_.n_seq_max)
    throw Error(ErrorKind::invalid_input, "adapters for sequence " + std::to_string(seq_id) +
                                              ": the id is outside [0, " +
                                              std::to_string(options_.n_seq_max) + ")");
  if (adapters.empty()) {
    seq_adapters_.erase(seq_id);
    return;
  }
  // Another sequence with the same adapters: share its set, so their rows run together.
  for (const auto& [other, set] : seq_adapters_)
    if (same_adapters(set->adapters, adapters)) {
      seq_adapters_[seq_id] = set;
      return;
    }
  auto set = std::make_shared<SequenceAdapters>();
  set->index = LoraIndex(*model_, adapters);  // check_adapter()'s errors, before any change
  if (gpu_) gpu_->add_adapters(adapters);
  set->adapters = std::move(adapters);
  seq_adapters_[seq_id] = std::move(set);
}

const std::vector<AppliedLora>& Context::sequence_adapters(int seq_id) const {
  static const std::vector<AppliedLora> kNone;
  const auto it = seq_adapters_.find(seq_id);
  return it == seq_adapters_.end() ? kNone : it->second->adapters;
}

void Context::remove_sequence(int seq_id) {
  kv_.remove_sequence(seq_id);
  seq_adapters_.erase(seq_id);
}

int Context::keep_prefix(int seq_id, int n_tokens) {
  kv_.remove_from(seq_id, n_tokens);
  // The next token's query needs the window before it in the local layers.
  if (!kv_.window_intact(seq_id, kv_.n_past(seq_id))) kv_.remove_sequence(seq_id);
  return kv_.n_past(seq_id);
}

void Context::prune_windows(std::span<const BatchEntry> batch) {
  if (!kv_.has_local_layers()) return;
  int last = -1;
  for (const BatchEntry& e : batch)
    if (e.seq_id != last) kv_.prune(last = e.seq_id);
}

int Context::n_past(int seq_id) const {
  return kv_.n_past(seq_id);
}

}  // namespace hearth::model
