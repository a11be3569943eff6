#include "garden/wiki/line_index.h"

#include <fmt/core.h>
#include <unistd.h>

#include <atomic>

#include "garden/core/files.h"
#include "garden/core/json.h"

namespace garden::wiki {

namespace fs = std::filesystem;

LineIndex::LineIndex(const std::vector<std::string>& ids, const std::vector<std::string>& texts) {
  if (ids.empty()) return;
  static std::atomic<int> counter{0};
  scratch_ = fs::temp_directory_path() / fmt::format("garden-wiki-{}-{}", ::getpid(), counter++);
  fs::remove_all(scratch_);
  fs::create_directories(scratch_ / "corpus");
  std::string corpus;
  for (size_t i = 0; i < ids.size(); ++i) corpus += Json{{"_id", ids[i]}, {"title", ""}, {"text", texts.at(i)}}.dump() + "\n";
  write_file_atomic(scratch_ / "corpus" / "corpus.jsonl", corpus);
  retrieval::Bm25Options options;
  options.stem = "english";
  retrieval::build_bm25_index(scratch_ / "corpus", scratch_ / "index", options, /*verbose=*/false);
  index_ = std::make_unique<retrieval::Bm25Index>(scratch_ / "index");
}

LineIndex::~LineIndex() {
  index_.reset();
  if (scratch_.empty()) return;
  std::error_code ignored;
  fs::remove_all(scratch_, ignored);
}

std::vector<retrieval::ScoredDoc> LineIndex::search(const std::string& query, int64_t k) const {
  return index_ ? index_->search(query, k) : std::vector<retrieval::ScoredDoc>{};
}

}  // namespace garden::wiki
