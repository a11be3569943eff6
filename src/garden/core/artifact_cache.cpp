#include "garden/core/artifact_cache.h"

#include <fmt/core.h>

#include <chrono>
#include <cstdlib>
#include <mutex>

#include "garden/core/error.h"
#include "garden/core/files.h"

namespace garden {

namespace fs = std::filesystem;

namespace {

std::vector<Artifact>& used() {
  static std::vector<Artifact> artifacts;
  return artifacts;
}

// Artifacts may be ensured from jobs running side by side (a reproduction's arms).
void remember(const Artifact& artifact) {
  static std::mutex mutex;
  const std::lock_guard<std::mutex> lock(mutex);
  used().push_back(artifact);
}

// Every regular file under `dir` (relative path -> size and sha256), the manifest excepted.
Json file_digests(const fs::path& dir) {
  Json files = Json::object();
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    const std::string relative = fs::relative(entry.path(), dir).generic_string();
    if (relative == "artifact.json") continue;
    files[relative] = {{"bytes", entry.file_size()}, {"sha256", sha256_file_hex(entry.path())}};
  }
  return files;
}

// "" when the entry at `dir` is complete and intact, else what is wrong with it.
std::string check_entry(const fs::path& dir) {
  const fs::path manifest_file = dir / "artifact.json";
  if (!fs::exists(manifest_file)) return "no manifest (a build that did not finish)";
  Json manifest;
  try {
    manifest = read_json_file(manifest_file);
  } catch (const Error&) {
    return "its manifest is not valid JSON";
  }
  if (!manifest.contains("files") || !manifest["files"].is_object()) return "its manifest lists no files";
  for (const auto& [relative, expected] : manifest["files"].items()) {
    const fs::path file = dir / relative;
    if (!fs::is_regular_file(file)) return relative + " is missing";
    if (fs::file_size(file) != expected.value("bytes", uint64_t{0})) return relative + " has another size";
    if (sha256_file_hex(file) != expected.value("sha256", "")) return relative + " has another sha256";
  }
  return "";
}

// Runs `write` into the staging folder `staged`; on any failure removes it (the cache's own
// half-written folder) and rethrows.
template <typename Write>
void write_staged(const fs::path& staged, Write&& write) {
  try {
    write();
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(staged, ignored);
    throw;
  }
}

// True when the manifest at `dir` carries exactly `key` (recipe, version and key fields).
bool has_key(const fs::path& dir, const Json& key) {
  const Json manifest = read_json_file(dir / "artifact.json");
  for (const auto& [field, value] : key.items())
    if (!manifest.contains(field) || manifest[field] != value) return false;
  return true;
}

// Installs the shipped copy at `copy` as the cache entry `dir`; false (with a note on
// stderr) when the copy is broken or holds another key, so that the caller builds instead.
bool install_shipped(const fs::path& copy, const fs::path& dir, const Json& key, Artifact& artifact) {
  std::string problem = check_entry(copy);
  if (problem.empty() && !has_key(copy, key)) problem = "its manifest holds another key";
  if (!problem.empty()) {
    fmt::print(stderr, "note: shipped artifact {} is not usable ({}); building it instead\n", copy.string(), problem);
    return false;
  }
  fs::create_directories(dir.parent_path());
  const fs::path staged = staging_path(dir);
  write_staged(staged, [&] { fs::copy(copy, staged, fs::copy_options::recursive); });
  replace_dir_atomic(staged, dir);
  artifact.seconds = read_json_file(dir / "artifact.json").value("seconds", 0.0);
  artifact.shipped = true;
  artifact.note = "installed from the shipped copy " + copy.string();
  return true;
}

}  // namespace

Artifact ensure_artifact(const fs::path& cache, const ArtifactRecipe& recipe, const ArtifactBuilder& build, bool rebuild,
                         const fs::path& shipped) {
  const Json key = {{"recipe", recipe.name}, {"version", recipe.version}, {"key", recipe.key}};
  Artifact artifact;
  artifact.name = recipe.name;
  artifact.dir = cache / recipe.name / sha256_hex(key.dump()).substr(0, 16);
  if (!rebuild && fs::exists(artifact.dir)) {
    const std::string problem = check_entry(artifact.dir);
    if (problem.empty()) {
      artifact.seconds = read_json_file(artifact.dir / "artifact.json").value("seconds", 0.0);
      remember(artifact);
      return artifact;
    }
    artifact.note = "cache entry " + artifact.dir.string() + " was incomplete or corrupt (" + problem + "); rebuilt";
    fmt::print(stderr, "note: {}\n", artifact.note);
  }
  if (!rebuild && !shipped.empty()) {
    const fs::path copy = shipped / recipe.name / artifact.dir.filename();
    if (fs::exists(copy) && install_shipped(copy, artifact.dir, key, artifact)) {
      remember(artifact);
      return artifact;
    }
  }
  const auto start = std::chrono::steady_clock::now();
  const fs::path staged = staging_path(artifact.dir);
  fs::create_directories(staged);
  write_staged(staged, [&] { build(staged, artifact.dir); });
  artifact.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  Json manifest = key;
  manifest["seconds"] = artifact.seconds;
  manifest["files"] = file_digests(staged);
  write_json_atomic(staged / "artifact.json", manifest);
  fs::create_directories(artifact.dir.parent_path());
  replace_dir_atomic(staged, artifact.dir);
  artifact.built = true;
  remember(artifact);
  return artifact;
}

const std::vector<Artifact>& artifacts_used() { return used(); }

fs::path shipped_artifacts_dir() {
  if (const char* dir = std::getenv("GARDEN_SHIPPED_ARTIFACTS")) return dir;
#ifdef GARDEN_SHIPPED_ARTIFACTS_DIR
  return GARDEN_SHIPPED_ARTIFACTS_DIR;
#else
  return {};
#endif
}

fs::path ship_artifact(const fs::path& entry, const fs::path& shipped, const std::function<void(const fs::path&)>& fill) {
  if (const std::string problem = check_entry(entry); !problem.empty())
    throw Error("artifact " + entry.string() + ": " + problem + " (only a complete cache entry can be shipped)");
  Json manifest = read_json_file(entry / "artifact.json");
  const fs::path target = shipped / manifest.value("recipe", std::string("artifact")) / entry.filename();
  if (fs::exists(target) && !fs::exists(target / "artifact.json"))
    usage_error(target.string() + " exists and is not a shipped artifact: move it away first");
  const fs::path staged = staging_path(target);
  fs::create_directories(staged);
  write_staged(staged, [&] { fill(staged); });
  manifest["files"] = file_digests(staged);
  write_json_atomic(staged / "artifact.json", manifest);
  fs::create_directories(target.parent_path());
  replace_dir_atomic(staged, target);
  return target;
}

}  // namespace garden
