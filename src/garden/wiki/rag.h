// The RAG baseline of llm-wiki.md: the raw sources cut into chunks of about 128 tokens (whole
// lines; every chunk after a source's first starts with the source's date line, so a date-aware
// reader can date it), BM25 top k over the chunks, and the same template reader and token
// counter as the wiki's queries.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "garden/wiki/claims.h"

namespace garden::wiki {

struct RagResult {
  std::string answer;  // the template reader's; "" when it does not know the question or the chunks do not say
  std::vector<Claim> evidence;
  std::vector<std::string> chunk_ids;  // "doc-0042#1": source id and chunk number, by rank
  std::string text_read;
  int64_t tokens_read = 0;
};

class RagBaseline {
 public:
  // Every regular file in `sources_dir` (sorted by name) is a source; its id is its file stem.
  RagBaseline(const std::filesystem::path& sources_dir, int64_t chunk_tokens = 128);
  ~RagBaseline();
  RagResult query(const std::string& question, int64_t k) const;
  int64_t chunks() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace garden::wiki
