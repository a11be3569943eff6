// A one-line progress bar on stderr: done/total, rate, ETA and named scalars (loss...).
// On a terminal it redraws in place; otherwise (CI, pipes) it prints a line every ~10%.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace garden {

class Progress {
 public:
  Progress(std::string label, int64_t total, std::string unit = "it");
  // `status` is appended as-is, e.g. "loss 1.234  12.3k tok/s".
  void update(int64_t done, const std::string& status = "");
  void finish(const std::string& status = "");

 private:
  void draw(int64_t done, const std::string& status, bool final_line);
  std::string label_;
  int64_t total_;
  std::string unit_;
  bool tty_;
  int last_decile_ = -1;
  std::chrono::steady_clock::time_point start_;
};

std::string format_duration(double seconds);

}  // namespace garden
