// TREC run files (`qid Q0 docid rank score tag`) and relevance judgements: TREC qrels
// (`qid 0 docid rel`) and BEIR's qrels/<split>.tsv (`query-id corpus-id score`, header line).
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace garden::retrieval {

struct ScoredDoc {
  std::string doc_id;
  double score;
};

// query id -> retrieved documents (in file order; metrics re-rank by score).
using Run = std::map<std::string, std::vector<ScoredDoc>>;
// query id -> document id -> graded relevance (>= 1 relevant, 0 judged non-relevant).
using Qrels = std::map<std::string, std::map<std::string, int>>;

// Refuses, naming file and line: a document listed twice for one query, a score that is not
// a finite number, a file without run lines.
Run read_trec_run(const std::filesystem::path& path);
// Ranks each query's documents by score (descending) before writing.
void write_trec_run(const std::filesystem::path& path, const Run& run, const std::string& tag);
Qrels read_trec_qrels(const std::filesystem::path& path);
Qrels read_beir_qrels(const std::filesystem::path& path);
// .tsv -> BEIR layout, anything else -> TREC layout; a file without judgements is refused.
Qrels read_qrels(const std::filesystem::path& path);

// trec_eval's ranking: score descending, ties broken by document id descending (strcmp).
std::vector<ScoredDoc> rank_like_trec_eval(std::vector<ScoredDoc> docs);

}  // namespace garden::retrieval
