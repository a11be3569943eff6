#include "garden/retrieval/trec.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "garden/core/error.h"
#include "garden/core/files.h"

namespace garden::retrieval {

namespace {

std::vector<std::string> split_fields(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> fields;
  std::string field;
  while (in >> field) fields.push_back(field);
  return fields;
}

template <typename Fn>
void for_each_line(const std::filesystem::path& path, Fn&& fn) {
  // A folder opens as an empty stream, which would read as a file without lines.
  if (std::filesystem::is_directory(path)) throw Error(path.string() + " is a folder, not a file");
  std::ifstream in(path);
  if (!in) throw Error("cannot read " + path.string() + ": no such file or not readable");
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    fn(line, number);
  }
}

double parse_double(const std::string& text, const std::filesystem::path& path, int64_t line, const char* what) {
  try {
    size_t used = 0;
    const double v = std::stod(text, &used);
    if (used == text.size()) return v;
  } catch (const std::logic_error&) {
  }
  throw Error(fmt::format("{}:{}: {} '{}' is not a number", path.string(), line, what, text));
}

int parse_int(const std::string& text, const std::filesystem::path& path, int64_t line, const char* what) {
  try {
    size_t used = 0;
    const int v = std::stoi(text, &used);
    if (used == text.size()) return v;
  } catch (const std::logic_error&) {
  }
  throw Error(fmt::format("{}:{}: {} '{}' is not an integer", path.string(), line, what, text));
}

}  // namespace

std::vector<ScoredDoc> rank_like_trec_eval(std::vector<ScoredDoc> docs) {
  std::sort(docs.begin(), docs.end(), [](const ScoredDoc& a, const ScoredDoc& b) {
    if (a.score != b.score) return a.score > b.score;
    return a.doc_id > b.doc_id;
  });
  return docs;
}

Run read_trec_run(const std::filesystem::path& path) {
  Run run;
  // trec_eval refuses a document listed twice for a query; scoring each copy would count one
  // relevant document several times (recall above 1).
  std::map<std::pair<std::string, std::string>, int64_t> first_line;
  for_each_line(path, [&](const std::string& line, int64_t number) {
    const auto f = split_fields(line);
    if (f.size() != 6)
      throw Error(fmt::format("{}:{}: a TREC run line has 6 fields (qid Q0 docid rank score tag), found {}", path.string(), number, f.size()));
    const double score = parse_double(f[4], path, number, "score");
    // NaN has no place in a ranking (sorting by it is undefined), nor has an infinite score.
    if (!std::isfinite(score)) throw Error(fmt::format("{}:{}: score '{}' is not a finite number", path.string(), number, f[4]));
    const auto [seen, fresh] = first_line.emplace(std::make_pair(f[0], f[2]), number);
    if (!fresh)
      throw Error(fmt::format("{}:{}: document '{}' is listed twice for query '{}' (first on line {})", path.string(), number, f[2], f[0],
                              seen->second));
    run[f[0]].push_back({f[2], score});
  });
  if (run.empty()) throw Error(path.string() + ": no run lines (qid Q0 docid rank score tag)");
  return run;
}

void write_trec_run(const std::filesystem::path& path, const Run& run, const std::string& tag) {
  std::string out;
  for (const auto& [qid, docs] : run) {
    const auto ranked = rank_like_trec_eval(docs);
    for (size_t i = 0; i < ranked.size(); ++i) out += fmt::format("{} Q0 {} {} {:.6f} {}\n", qid, ranked[i].doc_id, i + 1, ranked[i].score, tag);
  }
  write_file_atomic(path, out);
}

Qrels read_trec_qrels(const std::filesystem::path& path) {
  Qrels qrels;
  for_each_line(path, [&](const std::string& line, int64_t number) {
    const auto f = split_fields(line);
    if (f.size() != 4)
      throw Error(fmt::format("{}:{}: a TREC qrels line has 4 fields (qid iter docid rel), found {}", path.string(), number, f.size()));
    qrels[f[0]][f[2]] = parse_int(f[3], path, number, "relevance");
  });
  return qrels;
}

Qrels read_beir_qrels(const std::filesystem::path& path) {
  Qrels qrels;
  bool header = true;
  for_each_line(path, [&](const std::string& line, int64_t number) {
    const auto f = split_fields(line);
    if (header) {
      header = false;
      if (!f.empty() && f[0] == "query-id") return;  // BEIR files start with a header line
    }
    if (f.size() != 3)
      throw Error(fmt::format("{}:{}: a BEIR qrels line has 3 fields (query-id corpus-id score), found {}", path.string(), number, f.size()));
    qrels[f[0]][f[1]] = parse_int(f[2], path, number, "score");
  });
  return qrels;
}

Qrels read_qrels(const std::filesystem::path& path) {
  auto qrels = path.extension() == ".tsv" ? read_beir_qrels(path) : read_trec_qrels(path);
  if (qrels.empty()) throw Error(path.string() + ": no judgements");
  return qrels;
}

}  // namespace garden::retrieval
