#include "garden/train/run_folder.h"

#include <string>

#include "garden/core/error.h"
#include "garden/core/files.h"

namespace garden::train {

namespace fs = std::filesystem;

fs::path latest_checkpoint(const fs::path& run) {
  const auto pointer = run / "checkpoints" / "latest";
  if (!fs::exists(pointer)) return {};
  std::string name = read_file(pointer);
  while (!name.empty() && (name.back() == '\n' || name.back() == ' ')) name.pop_back();
  return run / "checkpoints" / name;
}

fs::path model_folder(const fs::path& path) {
  if (fs::exists(path / "model.safetensors")) return path;
  const auto latest = latest_checkpoint(path);
  return latest.empty() ? path : latest;
}

void claim_run_folder(const fs::path& out, const std::string& owner, bool resume) {
  if (resume && latest_checkpoint(out).empty()) throw Error("--resume: " + out.string() + " has no checkpoint to resume from");
  claim_output_dir(out, owner);
}

}  // namespace garden::train
