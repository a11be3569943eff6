// What every fuzz target shares: the fuzzer's bytes as a file (garden's readers take paths),
// and the contract each reader keeps on any input: it returns a result, or throws
// garden::Error with one line naming the input. Any other exception escapes the target and
// aborts, as do crashes, sanitizer reports, hangs and oversized allocations: libFuzzer
// reports each with the input that caused it.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "garden/core/error.h"

namespace garden::fuzz {

// A folder of this process under the temp dir, made on first use and removed at exit.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    auto path = std::filesystem::temp_directory_path() / ("garden-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(path);
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(scratch_dir(), ignored);
    });
    return path;
  }();
  return dir;
}

// Writes `size` bytes to <scratch>/<name> (folders made as needed) and returns its path.
inline std::filesystem::path write_input(const std::string& name, const uint8_t* data, size_t size) {
  const auto path = scratch_dir() / name;
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

inline std::filesystem::path write_input(const std::string& name, const std::string& text) {
  return write_input(name, reinterpret_cast<const uint8_t*>(text.data()), text.size());
}

// Runs `read`; a garden::Error must be one non-empty line that contains `input` (the file or
// folder read). Returns whether `read` succeeded.
template <typename Fn>
bool result_or_error(const std::string& input, Fn&& read) {
  try {
    read();
    return true;
  } catch (const Error& e) {
    const std::string message = e.what();
    if (message.empty() || message.find('\n') != std::string::npos || message.find(input) == std::string::npos) {
      std::fprintf(stderr, "garden::Error breaks the contract (one line naming %s): %s\n", input.c_str(), message.c_str());
      std::abort();
    }
    return false;
  }
}

}  // namespace garden::fuzz
