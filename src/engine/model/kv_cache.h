// The attention cache of one Context: for every layer, the K and V rows (n_kv_dim values each)
// of every token decoded so far, in n_cells cells shared by all sequences.
//
// A cell belongs to one (sequence, position) pair; each sequence's cells are kept in position
// order, so attention reads them in the order the tokens were written. Cells return to the
// free pool when their sequence is removed. Storage is F32 or F16 (half the memory; values are
// rounded to F16 when stored). Not thread-safe; owned by one Context.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <unordered_map>
#include <vector>

namespace hearth::model {

enum class KvType { f32, f16 };

class KvCache {
 public:
  KvCache(int n_layer, int n_kv_dim, int n_cells, KvType type);

  int n_cells() const { return n_cells_; }
  int n_used() const { return n_cells_ - static_cast<int>(free_.size()); }
  int n_free() const { return static_cast<int>(free_.size()); }
  KvType type() const { return type_; }

  bool contains(int seq, int pos) const;
  // The cell for (seq, pos): the existing one (its contents are then overwritten by store()),
  // else a free one. The caller checks n_free() first; no free cell is a bug.
  int claim(int seq, int pos);
  // Frees the cell of (seq, pos), if any.
  void release(int seq, int pos);
  // Frees every cell of `seq`; a sequence without cells is a no-op.
  void remove_sequence(int seq);
  // Frees the sequence's cells at positions >= pos (its first pos tokens stay).
  void remove_from(int seq, int pos);
  // The highest cached position of `seq` plus one, 0 when it has none.
  int n_past(int seq) const;

  void store(int layer, int cell, const float* k, const float* v);

  // The K and V rows of `seq` at positions ≤ max_pos, in position order, as F32 (n × n_kv_dim
  // each), with their positions. Returns n. (A copy; attention reads the rows in place through
  // sequence_cells() and k_data() / v_data().)
  int gather(int layer, int seq, int max_pos, std::vector<float>& k, std::vector<float>& v,
             std::vector<int>& positions) const;

  // The cells of `seq` holding positions ≤ max_pos, in position order, and those positions
  // (the same for every layer). Returns their number.
  int sequence_cells(int seq, int max_pos, std::vector<int>& cells,
                     std::vector<int>& positions) const;
  // Layer `layer`'s K or V rows in place: n_cells() rows of n_kv_dim() values, row `cell` at
  // cell × n_kv_dim() elements; float for KvType::f32, F16 bits (uint16_t) for KvType::f16.
  const void* k_data(int layer) const { return row_ptr(k_f32_, k_f16_, layer); }
  const void* v_data(int layer) const { return row_ptr(v_f32_, v_f16_, layer); }
  int n_kv_dim() const { return n_kv_dim_; }

 private:
  size_t offset(int layer, int cell) const {
    return (static_cast<size_t>(layer) * n_cells_ + cell) * n_kv_dim_;
  }
  const void* row_ptr(const std::vector<float>& f32, const std::vector<uint16_t>& f16,
                      int layer) const {
    if (type_ == KvType::f32) return f32.data() + offset(layer, 0);
    return f16.data() + offset(layer, 0);
  }
  void read_row(const std::vector<float>& f32, const std::vector<uint16_t>& f16, size_t at,
                float* out) const;

  int n_layer_;
  int n_kv_dim_;
  int n_cells_;
  KvType type_;
  std::vector<float> k_f32_, v_f32_;                  // KvType::f32: n_layer × n_cells × n_kv_dim
  std::vector<uint16_t> k_f16_, v_f16_;               // KvType::f16: same layout, F16 bits
  std::vector<int> free_;                             // free cells, the next one to use last
  std::unordered_map<int, std::map<int, int>> seqs_;  // seq -> position -> cell
};

}  // namespace hearth::model
