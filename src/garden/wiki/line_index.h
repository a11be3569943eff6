// A BM25 index over short texts (index.md's lines, chunks of sources) kept in a scratch folder
// for as long as the object lives: the wiki's navigator and the RAG baseline search with it,
// with the same settings (English stemming), so the two systems rank alike.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "garden/retrieval/bm25.h"

namespace garden::wiki {

class LineIndex {
 public:
  // `ids[i]` names `texts[i]`; an empty list gives an index that finds nothing.
  LineIndex(const std::vector<std::string>& ids, const std::vector<std::string>& texts);
  ~LineIndex();
  LineIndex(const LineIndex&) = delete;
  LineIndex& operator=(const LineIndex&) = delete;
  std::vector<retrieval::ScoredDoc> search(const std::string& query, int64_t k) const;

 private:
  std::filesystem::path scratch_;
  std::unique_ptr<retrieval::Bm25Index> index_;
};

}  // namespace garden::wiki
