// Where external collections live: `--data DIR`, else $GARDEN_DATA. A collection is a
// sub-folder named after it (cranfield, tinyshakespeare, ...). Nothing is downloaded.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace garden {

// The data root to use: `explicit_root` if given, else $GARDEN_DATA, else none.
std::optional<std::filesystem::path> resolve_data_root(const std::string& explicit_root);

// The folder of collection `name` under the root, if the root has it.
std::optional<std::filesystem::path> find_collection(const std::optional<std::filesystem::path>& root,
                                                     const std::string& name);

// The cache folder for shared artifacts: `explicit_dir`, else $GARDEN_CACHE,
// else ~/.cache/garden.
std::filesystem::path resolve_cache_dir(const std::string& explicit_dir);

}  // namespace garden
