// garden::Error: the one exception type of the library. Its message names the input
// (file, field, line) and, where one exists, the fix. The CLI prints it on one line and
// exits with 2 for usage errors and 1 for failures.
#pragma once

#include <stdexcept>
#include <string>

namespace garden {

enum class ErrorKind { usage, failure };

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, ErrorKind kind = ErrorKind::failure)
      : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

// Throws a usage error: a bad option value or a config field out of range.
[[noreturn]] inline void usage_error(const std::string& message) {
  throw Error(message, ErrorKind::usage);
}

}  // namespace garden
