#include "engine/model/kv_cache.h"

#include <algorithm>
#include <functional>
#include <string>

#include "core/error.h"
#include "engine/kernels/half.h"
#include "engine/kernels/kernels.h"

namespace hearth::model {

size_t kv_row_bytes(KvType type, int64_t n) {
  switch (type) {
    case KvType::f32: return static_cast<size_t>(n) * sizeof(float);
    case KvType::f16: return static_cast<size_t>(n) * sizeof(uint16_t);
    case KvType::q8_0: return kernels::row_bytes(kernels::TensorType::q8_0, n);
  }
  return 0;
}

const char* kv_type_name(KvType type) {
  switch (type) {
    case KvType::f32: return "f32";
    case KvType::f16: return "f16";
    case KvType::q8_0: return "q8_0";
  }
  return "?";
}

KvType kv_type_from_name(std::string_view name, std::string_view what) {
  for (KvType t : {KvType::f32, KvType::f16, KvType::q8_0})
    if (name == kv_type_name(t)) return t;
  throw Error(ErrorKind::invalid_input, std::string(what) + "=" + std::string(name) +
                                            ": use f16, q8_0 or f32");
}

KvCache::KvCache(int n_layer, int n_kv_dim, int n_cells, KvType type,
                 std::vector<uint8_t> local_layers, int window, int n_seq_max,
                 std::vector<uint8_t> elsewhere)
    : n_kv_dim_(n_kv_dim), n_cells_(n_cells), type_(type), window_(window) {
  slot_.resize(static_cast<size_t>(n_layer));
  local_.resize(static_cast<size_t>(n_layer));
  for (int il = 0; il < n_layer; ++il) {
    const auto i = static_cast<size_t>(il);
    const bool local = window > 0 && i < local_layers.size() && local_layers[i] != 0;
    local_[i] = local ? 1 : 0;
    any_local_ = any_local_ || local;
    if (i < elsewhere.size() && elsewhere[i] != 0) {
      slot_[i] = kElsewhere;
      continue;
    }
    slot_[i] = local ? -(n_local_layers_++) - 1 : n_global_layers_++;
  }
  HEARTH_ASSERT(type != KvType::q8_0 || n_kv_dim % 32 == 0,
                "KvCache: a Q8_0 cache needs rows of whole 32-value blocks");
  row_bytes_ = kv_row_bytes(type, n_kv_dim);
  global_bytes_ = static_cast<size_t>(n_global_layers_) * n_cells * row_bytes_;
  if (any_local_)
    local_capacity_ = static_cast<int>(std::min<int64_t>(
        n_cells, int64_t{std::max(1, n_seq_max)} * window + kLocalBatchCells));
  const size_t n = global_bytes_ + static_cast<size_t>(local_capacity_) * n_local_layers_ * row_bytes_;
  k_.resize(n);
  v_.resize(n);
  free_.resize(static_cast<size_t>(n_cells));
  for (int i = 0; i < n_cells; ++i) free_[static_cast<size_t>(i)] = n_cells - 1 - i;
  local_free_.resize(static_cast<size_t>(local_capacity_));
  for (int i = 0; i < local_capacity_; ++i)
    local_free_[static_cast<size_t>(i)] = local_capacity_ - 1 - i;
}

size_t KvCache::bytes() const { return k_.size() + v_.size(); }

size_t KvCache::offset(int layer, int cell) const {
  const int slot = slot_[static_cast<size_t>(layer)];
  if (slot >= 0) return (static_cast<size_t>(slot) * n_cells_ + cell) * row_bytes_;
  return global_bytes_ +
         (static_cast<size_t>(cell) * n_local_layers_ + static_cast<size_t>(-slot - 1)) * row_bytes_;
}

int64_t KvCache::row_stride(int layer) const {
  const auto row = static_cast<int64_t>(row_bytes_);
  return is_local(layer) ? int64_t{n_local_layers_} * row : row;
}

void KvCache::grow_local() {
  // Only a batch larger than the room kept for one gets here; the pool never needs more cells
  // than there are tokens (n_cells), so it grows by half, within that bound.
  const int old = local_capacity_;
  const int grown = std::min(n_cells_, std::max(old + old / 2, old + 64));
  HEARTH_ASSERT(grown > old, "KvCache: the local pool is full with every token in it");
  const size_t n = global_bytes_ + static_cast<size_t>(grown) * n_local_layers_ * row_bytes_;
  k_.resize(n);
  v_.resize(n);
  for (int c = grown - 1; c >= old; --c) local_free_.push_back(c);  // lowest next
  local_capacity_ = grown;
}

bool KvCache::contains(int seq, int pos) const {
  auto it = seqs_.find(seq);
  return it != seqs_.end() && it->second.cells.count(pos) != 0;
}

KvCache::Cell KvCache::claim(int seq, int pos) {
  Entry& e = seqs_[seq].cells[pos];
  if (e.cell < 0) {
    HEARTH_ASSERT(!free_.empty(), "KvCache::claim without a free cell");
    e.cell = free_.back();
    free_.pop_back();
  }
  if (e.local < 0 && any_local_) {
    if (local_free_.empty()) grow_local();
    e.local = local_free_.back();
    local_free_.pop_back();
  }
  return {e.cell, e.local};
}

void KvCache::free_entry(const Entry& e) {
  if (e.cell >= 0) free_.push_back(e.cell);
  if (e.local >= 0) local_free_.push_back(e.local);
}

void KvCache::sort_free() {
  // Keep handing out low cells first, so a fresh sequence reuses memory that is still warm.
  std::sort(free_.begin(), free_.end(), std::greater<>());
  std::sort(local_free_.begin(), local_free_.end(), std::greater<>());
}

void KvCache::release(int seq, int pos) {
  auto it = seqs_.find(seq);
  if (it == seqs_.end()) return;
  if (auto c = it->second.cells.find(pos); c != it->second.cells.end()) {
    free_entry(c->second);
    it->second.cells.erase(c);
  }
  if (it->second.cells.empty()) seqs_.erase(it);
}

void KvCache::remove_sequence(int seq) {
  auto it = seqs_.find(seq);
  if (it == seqs_.end()) return;
  for (const auto& [pos, e] : it->second.cells) free_entry(e);
  seqs_.erase(it);
  sort_free();
}

void KvCache::remove_from(int seq, int pos) {
  auto it = seqs_.find(seq);
  if (it == seqs_.end()) return;
  auto& cells = it->second.cells;
  for (auto c = cells.lower_bound(pos); c != cells.end(); c = cells.erase(c)) free_entry(c->second);
  if (cells.empty()) seqs_.erase(it);
  sort_free();
}

int KvCache::n_past(int seq) const {
  auto it = seqs_.find(seq);
  if (it == seqs_.end() || it->second.cells.empty()) return 0;
  return it->second.cells.rbegin()->first + 1;
}

void KvCache::prune(int seq) {
  if (!any_local_) return;
  auto it = seqs_.find(seq);
  if (it == seqs_.end() || it->second.cells.empty()) return;
  Sequence& s = it->second;
  const int keep_from = s.cells.rbegin()->first + 1 - window_;
  if (keep_from <= s.floor) return;
  // Positions below the floor have no local cell (window_intact() keeps them from getting one
  // again), so each position is visited once over the sequence's life.
  for (auto c = s.cells.lower_bound(s.floor); c != s.cells.end() && c->first < keep_from; ++c)
    if (c->second.local >= 0) {
      local_free_.push_back(c->second.local);
      c->second.local = -1;
    }
  s.floor = keep_from;
}

bool KvCache::window_intact(int seq, int pos) const {
  if (!any_local_) return true;
  auto it = seqs_.find(seq);
  if (it == seqs_.end()) return true;
  const int floor = it->second.floor;
  return floor == 0 || pos + 1 - window_ >= floor;
}

void KvCache::store(int layer, Cell cell, const float* k, const float* v) {
  HEARTH_ASSERT(stored(layer), "KvCache::store into a layer kept elsewhere");
  const bool local = is_local(layer);
  const int c = local ? cell.local : cell.global;
  HEARTH_ASSERT(c >= 0, "KvCache::store without a cell for the layer");
  const size_t at = offset(layer, c);
  uint8_t* kr = k_.data() + at;
  uint8_t* vr = v_.data() + at;
  switch (type_) {
    case KvType::f32:
      std::copy_n(reinterpret_cast<const uint8_t*>(k), row_bytes_, kr);
      std::copy_n(reinterpret_cast<const uint8_t*>(v), row_bytes_, vr);
      break;
    case KvType::f16: {
      auto* k16 = reinterpret_cast<uint16_t*>(kr);
      auto* v16 = reinterpret_cast<uint16_t*>(vr);
      for (int i = 0; i < n_kv_dim_; ++i) {
        k16[i] = kernels::f32_to_f16(k[i]);
        v16[i] = kernels::f32_to_f16(v[i]);
      }
      break;
    }
    case KvType::q8_0: {
      // The reference quantizer: the same rounding whatever kernel set runs.
      static const auto quantize =
          kernels::type_ops(kernels::TensorType::q8_0, kernels::KernelSet::reference)->from_float;
      quantize(k, kr, n_kv_dim_);
      quantize(v, vr, n_kv_dim_);
      break;
    }
  }
}

int KvCache::sequence_cells(int seq, int max_pos, bool local, std::vector<int>& cells,
                            std::vector<int>& positions) const {
  cells.clear();
  positions.clear();
  auto it = seqs_.find(seq);
  if (it == seqs_.end()) return 0;
  // A local layer's rows start at the floor: the positions below it have none.
  const auto& all = it->second.cells;
  for (auto c = local ? all.lower_bound(it->second.floor) : all.begin();
       c != all.end() && c->first <= max_pos; ++c) {
    const int cell = local ? c->second.local : c->second.cell;
    if (cell < 0) continue;
    positions.push_back(c->first);
    cells.push_back(cell);
  }
  return static_cast<int>(cells.size());
}

}  // namespace hearth::model
