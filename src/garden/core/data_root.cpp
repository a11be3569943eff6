#include "garden/core/data_root.h"

#include <cstdlib>

#include "garden/core/error.h"

namespace garden {

std::optional<std::filesystem::path> resolve_data_root(const std::string& explicit_root) {
  std::string root = explicit_root;
  if (root.empty()) {
    if (const char* env = std::getenv("GARDEN_DATA")) root = env;
  }
  if (root.empty()) return std::nullopt;
  if (!std::filesystem::is_directory(root))
    throw Error("data root " + root + " is not a folder (from --data or $GARDEN_DATA)");
  return std::filesystem::path(root);
}

std::optional<std::filesystem::path> find_collection(const std::optional<std::filesystem::path>& root,
                                                     const std::string& name) {
  if (!root) return std::nullopt;
  auto dir = *root / name;
  if (std::filesystem::is_directory(dir)) return dir;
  return std::nullopt;
}

std::filesystem::path resolve_cache_dir(const std::string& explicit_dir) {
  if (!explicit_dir.empty()) return explicit_dir;
  if (const char* env = std::getenv("GARDEN_CACHE")) return env;
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home ? home : ".") / ".cache" / "garden";
}

}  // namespace garden
