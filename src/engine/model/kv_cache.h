// The attention cache of one Context: for every layer, the K and V rows (n_kv_dim values each)
// of every token decoded so far, in cells shared by all sequences.
//
// A token of a sequence, (sequence, position), owns one cell of the global pool: n_cells cells
// with a row in every global layer. Each sequence's cells are kept in position order, so
// attention reads them in the order the tokens were written. Cells return to the free pool when
// their sequence is removed. Storage is F32, F16 (half the memory; values are rounded to F16
// when stored) or Q8_0 (34 bytes per 32 values, about 27% of F32: each head's slice of a row is
// quantized in blocks of 32, so the head dimension must be a multiple of 32). Not thread-safe; owned by one Context.
//
// Local layers (a sliding window of W positions, Hparams::sliding()) keep their rows in a second
// pool of their own: a token also owns a local cell with a row in every local layer, but only
// while it is among its sequence's last W positions. After each batch, prune() hands the local
// cells of older positions back (they are reused by the next tokens of any sequence), so a local
// layer holds about W cells per sequence plus one batch, whatever the context length. The pool
// starts with n_seq_max·W + kLocalBatchCells cells (capped at n_cells) and grows when a larger
// batch needs more; it never holds more cells than there are tokens. A position whose window
// has been dropped cannot be decoded again (window_intact()).
//
// Layers kept elsewhere (their rows live in a GPU's memory, gpu_layers.h) take part in the cell
// bookkeeping as any layer of their kind, but have no storage here: memory is not spent twice.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace hearth::model {

enum class KvType { f32, f16, q8_0 };

// Bytes of n values (n a multiple of 32 for Q8_0) of the cache type.
size_t kv_row_bytes(KvType type, int64_t n);
// "f32", "f16", "q8_0".
const char* kv_type_name(KvType type);
// The type named "f32", "f16" or "q8_0"; Error(invalid_input) naming `what` (the setting or
// option it came from) and the accepted names otherwise.
KvType kv_type_from_name(std::string_view name, std::string_view what);

class KvCache {
 public:
  // Room the local pool keeps for one batch of new tokens on top of each sequence's window (the
  // generator feeds prompts in chunks of this size; hardware::kv_cache_bytes counts the same).
  static constexpr int kLocalBatchCells = 512;

  // The cells of one token: its global cell and its local cell (-1 when the model has no local
  // layers or the position has left the window).
  struct Cell {
    int global = -1;
    int local = -1;
  };

  // local_layers: per layer, 1 for a local layer (empty: every layer is global); window: W.
  // elsewhere: per layer, 1 for a layer whose rows are kept outside this cache (empty: none).
  KvCache(int n_layer, int n_kv_dim, int n_cells, KvType type,
          std::vector<uint8_t> local_layers = {}, int window = 0, int n_seq_max = 1,
          std::vector<uint8_t> elsewhere = {});

  int n_cells() const { return n_cells_; }
  int n_used() const { return n_cells_ - static_cast<int>(free_.size()); }
  int n_free() const { return static_cast<int>(free_.size()); }
  KvType type() const { return type_; }
  bool has_local_layers() const { return any_local_; }
  // Local cells: in use, and allocated.
  int n_local_used() const { return local_capacity_ - static_cast<int>(local_free_.size()); }
  int local_capacity() const { return local_capacity_; }
  // Bytes of K and V storage allocated in both pools.
  size_t bytes() const;

  bool contains(int seq, int pos) const;
  // The cells for (seq, pos): the existing ones (their contents are then overwritten by store()),
  // else free ones. The caller checks n_free() first; no free global cell is a bug.
  Cell claim(int seq, int pos);
  // Frees the cells of (seq, pos), if any.
  void release(int seq, int pos);
  // Frees every cell of `seq`; a sequence without cells is a no-op.
  void remove_sequence(int seq);
  // Frees the sequence's cells at positions >= pos (its first pos tokens stay).
  void remove_from(int seq, int pos);
  // The highest cached position of `seq` plus one, 0 when it has none.
  int n_past(int seq) const;

  // Hands back the local cells of `seq` that no later query needs: those before its last W
  // positions (the last W stay, so the last token may also be decoded again).
  void prune(int seq);
  // Whether a query of `seq` at `pos` would see every key of its window in the local layers
  // (always true without local layers).
  bool window_intact(int seq, int pos) const;

  // Whether the layer's rows are stored here (not kept elsewhere).
  bool stored(int layer) const { return slot_[static_cast<size_t>(layer)] != kElsewhere; }
  // Whether the layer is a local (sliding-window) one, stored here or not.
  bool local_layer(int layer) const { return local_[static_cast<size_t>(layer)] != 0; }

  // Writes a token's K and V rows of a stored layer.
  void store(int layer, Cell cell, const float* k, const float* v);

  // The cells of `seq` holding positions ≤ max_pos, in position order, and those positions:
  // for a global layer all of them, for a local one those still in the window (the same for
  // every layer of the kind). Returns their number.
  int sequence_cells(int seq, int max_pos, bool local, std::vector<int>& cells,
                     std::vector<int>& positions) const;
  // Layer `layer`'s K or V rows in place: row of cell c at c × row_stride(layer) bytes (the
  // cell from sequence_cells() of the layer's kind), in the cache type; head h's values start
  // kv_row_bytes(type(), h × head_dim) bytes into a row.
  const void* k_data(int layer) const { return k_.data() + offset(layer, 0); }
  const void* v_data(int layer) const { return v_.data() + offset(layer, 0); }
  int64_t row_stride(int layer) const;
  int n_kv_dim() const { return n_kv_dim_; }

 private:
  struct Entry {
    int cell = -1;
    int local = -1;
  };
  struct Sequence {
    std::map<int, Entry> cells;  // position -> cells
    int floor = 0;               // positions below it have left the local layers' window
  };

  static constexpr int kElsewhere = -(1 << 30);  // slot of a layer kept elsewhere
  bool is_local(int layer) const { return slot_[static_cast<size_t>(layer)] < 0; }
  // Byte offset of a row. Global layers: layer-major (slot × n_cells + cell); local layers:
  // cell-major (cell × n_local_layers + slot), so the local pool grows by appending cells.
  size_t offset(int layer, int cell) const;
  void grow_local();
  void free_entry(const Entry& e);
  void sort_free();

  int n_kv_dim_;
  int n_cells_;
  KvType type_;
  int window_;
  // Per stored layer: its index among the stored global layers (>= 0), or -(index among the
  // stored local ones) - 1; kElsewhere for a layer kept elsewhere.
  std::vector<int> slot_;
  std::vector<uint8_t> local_;  // per layer, 1 for a local layer
  int n_global_layers_ = 0;     // stored global layers
  int n_local_layers_ = 0;      // stored local layers (the local pool's rows per cell)
  bool any_local_ = false;      // whether any layer is local: local cells are handed out
  size_t row_bytes_ = 0;     // bytes of one row of n_kv_dim values
  size_t global_bytes_ = 0;  // where the local pool starts in the storage vectors
  int local_capacity_ = 0;
  // Rows of the cache type: the global pool, then the local pool.
  std::vector<uint8_t> k_, v_;
  std::vector<int> free_;        // free global cells, the next one to use last
  std::vector<int> local_free_;  // free local cells, the same
  std::unordered_map<int, Sequence> seqs_;
};

}  // namespace hearth::model
