#include "garden/core/progress.h"

#include <fmt/core.h>
#include <unistd.h>

#include <cstdio>

namespace garden {

std::string format_duration(double seconds) {
  const int s = static_cast<int>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}h{:02d}m", s / 3600, (s % 3600) / 60);
  if (s >= 60) return fmt::format("{}m{:02d}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

Progress::Progress(std::string label, int64_t total, std::string unit)
    : label_(std::move(label)),
      total_(total),
      unit_(std::move(unit)),
      tty_(::isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()) {}

void Progress::update(int64_t done, const std::string& status) {
  if (tty_) {
    draw(done, status, false);
    return;
  }
  const int decile = total_ > 0 ? static_cast<int>(10 * done / total_) : 0;
  if (decile != last_decile_) {
    last_decile_ = decile;
    draw(done, status, true);
  }
}

void Progress::finish(const std::string& status) {
  draw(total_, status, true);
}

void Progress::draw(int64_t done, const std::string& status, bool final_line) {
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double fraction = total_ > 0 ? static_cast<double>(done) / static_cast<double>(total_) : 0.0;
  const int width = 24;
  const int filled = static_cast<int>(fraction * width);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(width, '.');
  const double eta = done > 0 ? elapsed * (static_cast<double>(total_ - done) / static_cast<double>(done)) : 0.0;
  std::string line = fmt::format("{} [{}] {}/{} {}  {} elapsed, ETA {}  {}", label_, bar, done, total_,
                                 unit_, format_duration(elapsed), format_duration(eta), status);
  if (tty_ && !final_line) {
    fmt::print(stderr, "\r\033[K{}", line);
  } else {
    fmt::print(stderr, "{}{}\n", tty_ ? "\r\033[K" : "", line);
  }
  std::fflush(stderr);
}

}  // namespace garden
