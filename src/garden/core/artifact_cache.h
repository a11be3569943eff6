// The artifact cache (DESIGN.md, "Data roots and shared artifacts"): what several runs start
// from (the shared base LM today; SFT models, teachers, encoded corpora later) is built once
// by a named recipe into <cache>/<recipe>/<key hash>/ and reused by every later run with
// the same key. The key holds the recipe's version (raised whenever the code that builds it
// changes its output), its options and the digests of its inputs. An entry counts only when
// its manifest (artifact.json) is there and every file it lists still has its recorded size
// and sha256: a partial or corrupt entry is rebuilt, never used.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "garden/core/json.h"

namespace garden {

struct ArtifactRecipe {
  std::string name;  // folder under the cache, e.g. "base-lm"
  int version = 1;   // of the code that builds it
  Json key;          // options and input digests
};

struct Artifact {
  std::string name;
  std::filesystem::path dir;  // the complete entry
  bool built = false;         // this call built it (false: reused)
  double seconds = 0;         // build time (recorded at build, also when reused)
  std::string note;           // why it was rebuilt, when it was
};

// The entry for `recipe`, built first by `build(staged, final)` when absent, partial,
// corrupt or when `rebuild` is set. `build` writes every file of the artifact into `staged`
// (`final` is where the entry will be once complete, for files that must name it); the
// cache adds the manifest and moves the folder into place.
using ArtifactBuilder = std::function<void(const std::filesystem::path& staged, const std::filesystem::path& final)>;
Artifact ensure_artifact(const std::filesystem::path& cache, const ArtifactRecipe& recipe, const ArtifactBuilder& build,
                         bool rebuild = false);

// Every artifact this process has ensured, in order, for reports.
const std::vector<Artifact>& artifacts_used();

}  // namespace garden
