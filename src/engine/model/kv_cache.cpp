#include "engine/model/kv_cache.h"

#include <algorithm>

#include "core/error.h"
#include "engine/kernels/half.h"

namespace hearth::model {

KvCache::KvCache(int n_layer, int n_kv_dim, int n_cells, KvType type)
    : n_layer_(n_layer), n_kv_dim_(n_kv_dim), n_cells_(n_cells), type_(type) {
  const size_t n = static_cast<size_t>(n_layer) * n_cells * n_kv_dim;
  if (type == KvType::f32) {
    k_f32_.resize(n);
    v_f32_.resize(n);
  } else {
    k_f16_.resize(n);
    v_f16_.resize(n);
  }
  free_.resize(static_cast<size_t>(n_cells));
  for (int i = 0; i < n_cells; ++i) free_[static_cast<size_t>(i)] = n_cells - 1 - i;
}

bool KvCache::contains(int seq, int pos) const {
  auto it = seqs_.find(seq);
  return it != seqs_.end() && it->second.count(pos) != 0;
}

int KvCache::claim(int seq, int pos) {
  std::map<int, int>& cells = seqs_[seq];
  if (auto it = cells.find(pos); it != cells.end()) return it->second;
  HEARTH_ASSERT(!free_.empty(), "KvCache::claim without a free cell");
  const int cell = free_.back();
  free_.pop_back();
  cells.emplace(pos, cell);
  return cell;
}

void KvCache::release(int seq, int pos) {
  auto it = seqs_.find(seq);
  if (it == seqs_.end()) return;
  if (auto c = it->second.find(pos); c != it->second.end()) {
    free_.push_back(c->second);
    it->second.erase(c);
  }
  if (it->second.empty()) seqs_.erase(it);
}

void KvCache::remove_sequence(int seq) {
  auto it = seqs_.find(seq);
  if (it == seqs_.end()) return;
  for (const auto& [pos, cell] : it->second) free_.push_back(cell);
  seqs_.erase(it);
  // Keep handing out low cells first, so a fresh sequence reuses memory that is still warm.
  std::sort(free_.begin(), free_.end(), std::greater<>());
}

void KvCache::remove_from(int seq, int pos) {
  auto it = seqs_.find(seq);
  if (it == seqs_.end()) return;
  for (auto c = it->second.lower_bound(pos); c != it->second.end(); c = it->second.erase(c))
    free_.push_back(c->second);
  if (it->second.empty()) seqs_.erase(it);
  std::sort(free_.begin(), free_.end(), std::greater<>());
}

int KvCache::n_past(int seq) const {
  auto it = seqs_.find(seq);
  if (it == seqs_.end() || it->second.empty()) return 0;
  return it->second.rbegin()->first + 1;
}

void KvCache::store(int layer, int cell, const float* k, const float* v) {
  const size_t at = offset(layer, cell);
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

void KvCache::read_row(const std::vector<float>& f32, const std::vector<uint16_t>& f16, size_t at,
                       float* out) const {
  if (type_ == KvType::f32) {
    std::copy_n(f32.begin() + static_cast<ptrdiff_t>(at), n_kv_dim_, out);
  } else {
    for (int i = 0; i < n_kv_dim_; ++i)
      out[i] = kernels::f16_to_f32(f16[at + static_cast<size_t>(i)]);
  }
}

int KvCache::gather(int layer, int seq, int max_pos, std::vector<float>& k, std::vector<float>& v,
                    std::vector<int>& positions) const {
  positions.clear();
  auto it = seqs_.find(seq);
  if (it == seqs_.end()) return 0;
  const auto end = it->second.upper_bound(max_pos);
  const auto n = static_cast<size_t>(std::distance(it->second.begin(), end));
  k.resize(n * n_kv_dim_);
  v.resize(n * n_kv_dim_);
  size_t j = 0;
  for (auto c = it->second.begin(); c != end; ++c, ++j) {
    positions.push_back(c->first);
    read_row(k_f32_, k_f16_, offset(layer, c->second), k.data() + j * n_kv_dim_);
    read_row(v_f32_, v_f16_, offset(layer, c->second), v.data() + j * n_kv_dim_);
  }
  return static_cast<int>(n);
}

int KvCache::sequence_cells(int seq, int max_pos, std::vector<int>& cells,
                            std::vector<int>& positions) const {
  cells.clear();
  positions.clear();
  auto it = seqs_.find(seq);
  if (it == seqs_.end()) return 0;
  const auto end = it->second.upper_bound(max_pos);
  for (auto c = it->second.begin(); c != end; ++c) {
    positions.push_back(c->first);
    cells.push_back(c->second);
  }
  return static_cast<int>(cells.size());
}

}  // namespace hearth::model
