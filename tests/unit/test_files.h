// Torch-free helpers for the unit tests: temporary folders and expected errors. Kept apart from
// test_helpers.h so that tests which never touch libtorch compile without its headers.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string>

namespace garden::testing {

// A fresh empty folder under the system temp dir, removed at scope exit.
class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("garden-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
  std::filesystem::path path_;
};

// The shared evaluation data: $GARDEN_DATA when set, else the folder beside the checkout that the
// build recorded (tests that need it skip when it is absent).
inline std::filesystem::path shared_data_root() {
  const char* env = std::getenv("GARDEN_DATA");
  return env && *env ? std::filesystem::path(env) : std::filesystem::path(GARDEN_TEST_DATA);
}

// Runs `fn`, expecting a garden::Error whose message contains `fragment`.
template <typename Fn>
void expect_error_containing(Fn&& fn, const std::string& fragment) {
  try {
    fn();
    ADD_FAILURE() << "expected an error containing '" << fragment << "'";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << "message was: " << e.what();
  }
}

}  // namespace garden::testing
