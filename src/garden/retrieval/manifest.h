// What every index folder's manifest.json records about the corpus it was built from, and
// the check that refuses an index whose corpus has changed since (a stale index).
#pragma once

#include <filesystem>

#include "garden/core/json.h"

namespace garden::retrieval {

// {"corpus": absolute path, "corpus_sha256": ...} for a collection folder's corpus.jsonl.
Json corpus_fingerprint(const std::filesystem::path& collection_dir);

// Throws when the manifest names a corpus file that still exists but whose sha256 differs.
void refuse_if_stale(const Json& manifest, const std::filesystem::path& index_dir);

}  // namespace garden::retrieval
