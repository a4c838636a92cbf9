// What the CPU this process runs on can do, read once at first use. Kernels are chosen from
// these at run time so one binary runs on any x86-64 machine.
#pragma once

#include <string>

namespace hearth {

struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512vl = false;
  bool avx512vnni = false;
  bool avx512bf16 = false;
  bool avx_vnni = false;

  std::string describe() const;  // "avx2 fma f16c avx512f ..."
};

const CpuFeatures& cpu_features();

}  // namespace hearth
