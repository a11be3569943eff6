// What every benchmark program (garden's sides and the C++ peers alike) measures about its
// own process: wall seconds, resident bytes now and at peak, bytes on disk. No garden code,
// so that the peers stay independent of what they are compared with.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace bench {

inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

inline int64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

// VmHWM, the process's own peak. Not getrusage's ru_maxrss: Linux carries that over exec, so
// a child started by a large driver would report the driver's peak.
inline int64_t peak_resident_bytes() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  return 0;
}

// A file's size, or the total of the files under a folder.
inline int64_t bytes_on_disk(const std::filesystem::path& path) {
  if (std::filesystem::is_regular_file(path)) return static_cast<int64_t>(std::filesystem::file_size(path));
  int64_t total = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(path))
    if (entry.is_regular_file()) total += static_cast<int64_t>(entry.file_size());
  return total;
}

}  // namespace bench
