// hearth::Error — the one exception type for failures that end an operation (DESIGN.md §6).
//
// Throw it with the kind of failure and a message that says what was wrong and what to do:
//   throw Error(ErrorKind::corrupt_file, "model.gguf: tensor 'x' extends past the end of the file");
// Catch it once at each boundary (HTTP handler, CLI, job runner). Expected outcomes such as end of
// stream are return values, never exceptions. Programmer errors use HEARTH_ASSERT.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace hearth {

enum class ErrorKind {
  invalid_input,  // the caller sent something malformed or out of range
  not_found,      // a named thing (model, file, record) does not exist
  io,             // the operating system refused a read, write or open
  corrupt_file,   // a file's contents contradict its own format
  unsupported,    // well-formed, but hearth does not implement it
  out_of_memory,  // an allocation the input asked for is too large
  unauthorized,   // missing or wrong credentials
  conflict,       // the request contradicts current state (already exists, busy)
  unavailable,    // temporarily unable (overloaded, shutting down)
  internal,       // a bug: should never reach a user
};

// Lower-case name of the kind, as used in JSON errors and CLI messages ("corrupt_file").
std::string_view error_kind_name(ErrorKind kind);

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

[[noreturn]] void assert_failed(const char* expr, const char* file, int line, const char* message);

}  // namespace hearth

// Checks an invariant that only a bug can break; aborts with the message in every build type.
#define HEARTH_ASSERT(cond, message)                                          \
  do {                                                                        \
    if (!(cond)) ::hearth::assert_failed(#cond, __FILE__, __LINE__, message); \
  } while (0)
