// SplitMix64: a small, fully specified random generator with good statistical quality. Where a
// result must be the same on every machine and in every version (the weights of `hearth synth`,
// the start of a fresh LoRA adapter), hearth draws from it rather than from the standard
// library's engines and distributions, whose outputs are not pinned down.
#pragma once

#include <cstdint>

namespace hearth {

struct SplitMix {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [-1, 1), from the top 24 bits.
  float symmetric() { return static_cast<float>(next() >> 40) * 0x1.0p-23f - 1.0f; }
};

}  // namespace hearth
