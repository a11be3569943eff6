// The artifact cache (DESIGN.md, "Data roots and shared artifacts"): what several runs start
// from (the shared base LM today; SFT models, teachers, encoded corpora later) is built once
// by a named recipe into <cache>/<recipe>/<key hash>/ and reused by every later run with
// the same key. The key holds the recipe's version (raised whenever the code that builds it
// changes its output), its options and the digests of its inputs. An entry counts only when
// its manifest (artifact.json) is there and every file it lists still has its recorded size
// and sha256: a partial or corrupt entry is rebuilt, never used.
//
// An artifact too slow to build on a laptop (base LM v2: about 45 minutes with bf16 matrix
// units, two hours without) may also be shipped with the sources, under artifacts/ at the
// repository root in the cache's own layout (<recipe>/<key hash>/ with its manifest). A
// missing or broken cache entry is then installed from the shipped copy when that copy is
// intact and has the same key hash, instead of being built; --rebuild still builds.
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
  bool shipped = false;       // this call installed it from a shipped copy
  std::string note;           // why it was rebuilt or installed, when it was
};

// The entry for `recipe`, built first by `build(staged, final)` when absent, partial,
// corrupt or when `rebuild` is set. `build` writes every file of the artifact into `staged`
// (`final` is where the entry will be once complete, for files that must name it); the
// cache adds the manifest and moves the folder into place.
using ArtifactBuilder = std::function<void(const std::filesystem::path& staged, const std::filesystem::path& final)>;
// `shipped`: a folder of shipped artifacts (shipped_artifacts_dir()), or empty for none.
Artifact ensure_artifact(const std::filesystem::path& cache, const ArtifactRecipe& recipe, const ArtifactBuilder& build,
                         bool rebuild = false, const std::filesystem::path& shipped = {});

// The artifacts/ folder of the checkout this binary was built from (empty when it has none);
// $GARDEN_SHIPPED_ARTIFACTS overrides it (an empty value: use no shipped artifacts).
std::filesystem::path shipped_artifacts_dir();

// Writes a shipped copy of the complete cache entry `entry` into <shipped>/<recipe>/<key
// hash>/ (replacing an earlier shipped copy of that key): `fill(staged)` writes its files,
// which may differ from the entry's (weights rounded to a smaller type), and the copy's
// manifest holds the entry's key with the new files' digests. Returns the copy's folder.
std::filesystem::path ship_artifact(const std::filesystem::path& entry, const std::filesystem::path& shipped,
                                    const std::function<void(const std::filesystem::path& staged)>& fill);

// Every artifact this process has ensured, in order, for reports.
const std::vector<Artifact>& artifacts_used();

}  // namespace garden
