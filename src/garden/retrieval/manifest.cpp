#include "garden/retrieval/manifest.h"

#include "garden/core/error.h"
#include "garden/core/files.h"

namespace garden::retrieval {

Json corpus_fingerprint(const std::filesystem::path& collection_dir) {
  const auto corpus = collection_dir / "corpus.jsonl";
  return Json{{"corpus", std::filesystem::absolute(corpus).string()}, {"corpus_sha256", sha256_file_hex(corpus)}};
}

void refuse_if_stale(const Json& manifest, const std::filesystem::path& index_dir) {
  const std::string corpus = manifest.value("corpus", "");
  if (!corpus.empty() && std::filesystem::exists(corpus) && sha256_file_hex(corpus) != manifest.value("corpus_sha256", ""))
    throw Error("index " + index_dir.string() + " is stale: " + corpus + " changed since it was built; rebuild it");
}

}  // namespace garden::retrieval
