#include "core/error.h"

#include <cstdio>
#include <cstdlib>

namespace hearth {

std::string_view error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::invalid_input: return "invalid_input";
    case ErrorKind::not_found: return "not_found";
    case ErrorKind::io: return "io";
    case ErrorKind::corrupt_file: return "corrupt_file";
    case ErrorKind::unsupported: return "unsupported";
    case ErrorKind::out_of_memory: return "out_of_memory";
    case ErrorKind::unauthorized: return "unauthorized";
    case ErrorKind::conflict: return "conflict";
    case ErrorKind::unavailable: return "unavailable";
    case ErrorKind::internal: return "internal";
  }
  return "internal";
}

void assert_failed(const char* expr, const char* file, int line, const char* message) {
  std::fprintf(stderr, "hearth: assertion failed: %s (%s:%d): %s\n", expr, file, line, message);
  std::abort();
}

}  // namespace hearth
