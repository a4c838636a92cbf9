// The mixed text `hearth bench tokenizer` measures with: English prose, source code, JSON,
// numbers, accented Latin, Cyrillic, CJK, Korean, Arabic and emoji, repeated to the asked size
// (cut at a UTF-8 character boundary).
#pragma once

#include <cstddef>
#include <string>

namespace hearth::cli {

std::string mixed_bench_text(size_t n_bytes);

}  // namespace hearth::cli
