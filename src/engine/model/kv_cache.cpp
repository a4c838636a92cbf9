#include "engine/model/kv_cache.h"

#include <algorithm>
#include <functional>

#include "core/error.h"
#include "engine/kernels/half.h"

namespace hearth::model {

KvCache::KvCache(int n_layer, int n_kv_dim, int n_cells, KvType type,
                 std::vector<uint8_t> local_layers, int window, int n_seq_max)
    : n_kv_dim_(n_kv_dim), n_cells_(n_cells), type_(type), window_(window) {
  slot_.resize(static_cast<size_t>(n_layer));
  for (int il = 0; il < n_layer; ++il) {
    const bool local = window > 0 && static_cast<size_t>(il) < local_layers.size() &&
                       local_layers[static_cast<size_t>(il)] != 0;
    slot_[static_cast<size_t>(il)] = local ? -(n_local_layers_++) - 1 : n_global_layers_++;
  }
  global_elems_ = static_cast<size_t>(n_global_layers_) * n_cells * n_kv_dim;
  if (n_local_layers_ > 0)
    local_capacity_ = static_cast<int>(std::min<int64_t>(
        n_cells, int64_t{std::max(1, n_seq_max)} * window + kLocalBatchCells));
  const size_t n = global_elems_ + static_cast<size_t>(local_capacity_) * n_local_layers_ * n_kv_dim;
  if (type == KvType::f32) {
    k_f32_.resize(n);
    v_f32_.resize(n);
  } else {
    k_f16_.resize(n);
    v_f16_.resize(n);
  }
  free_.resize(static_cast<size_t>(n_cells));
  for (int i = 0; i < n_cells; ++i) free_[static_cast<size_t>(i)] = n_cells - 1 - i;
  local_free_.resize(static_cast<size_t>(local_capacity_));
  for (int i = 0; i < local_capacity_; ++i)
    local_free_[static_cast<size_t>(i)] = local_capacity_ - 1 - i;
}

size_t KvCache::bytes() const {
  const size_t elems = type_ == KvType::f32 ? k_f32_.size() : k_f16_.size();
  return 2 * elems * (type_ == KvType::f32 ? sizeof(float) : sizeof(uint16_t));
}

size_t KvCache::offset(int layer, int cell) const {
  const int slot = slot_[static_cast<size_t>(layer)];
  if (slot >= 0) return (static_cast<size_t>(slot) * n_cells_ + cell) * n_kv_dim_;
  return global_elems_ +
         (static_cast<size_t>(cell) * n_local_layers_ + static_cast<size_t>(-slot - 1)) * n_kv_dim_;
}

int64_t KvCache::row_stride(int layer) const {
  return is_local(layer) ? int64_t{n_local_layers_} * n_kv_dim_ : n_kv_dim_;
}

const void* KvCache::row_ptr(const std::vector<float>& f32, const std::vector<uint16_t>& f16,
                             int layer) const {
  if (type_ == KvType::f32) return f32.data() + offset(layer, 0);
  return f16.data() + offset(layer, 0);
}

void KvCache::grow_local() {
  // Only a batch larger than the room kept for one gets here; the pool never needs more cells
  // than there are tokens (n_cells), so it grows by half, within that bound.
  const int old = local_capacity_;
  const int grown = std::min(n_cells_, std::max(old + old / 2, old + 64));
  HEARTH_ASSERT(grown > old, "KvCache: the local pool is full with every token in it");
  const size_t n = global_elems_ + static_cast<size_t>(grown) * n_local_layers_ * n_kv_dim_;
  if (type_ == KvType::f32) {
    k_f32_.resize(n);
    v_f32_.resize(n);
  } else {
    k_f16_.resize(n);
    v_f16_.resize(n);
  }
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
  if (e.local < 0 && n_local_layers_ > 0) {
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
  if (n_local_layers_ == 0) return;
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
  if (n_local_layers_ == 0) return true;
  auto it = seqs_.find(seq);
  if (it == seqs_.end()) return true;
  const int floor = it->second.floor;
  return floor == 0 || pos + 1 - window_ >= floor;
}

void KvCache::store(int layer, Cell cell, const float* k, const float* v) {
  const bool local = is_local(layer);
  const int c = local ? cell.local : cell.global;
  HEARTH_ASSERT(c >= 0, "KvCache::store without a cell for the layer");
  const size_t at = offset(layer, c);
  if (type_ == KvType::f32) {
    std::copy(k, k + n_kv_dim_, k_f32_.begin() + static_cast<ptrdiff_t>(at));
    std::copy(v, v + n_kv_dim_, v_f32_.begin() + static_cast<ptrdiff_t>(at));
  } else {
    for (int i = 0; i < n_kv_dim_; ++i) {
      k_f16_[at + static_cast<size_t>(i)] = kernels::f32_to_f16(k[i]);
      v_f16_[at + static_cast<size_t>(i)] = kernels::f32_to_f16(v[i]);
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
