#include "garden/retrieval/collection.h"

#include <fmt/core.h>

#include <set>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/core/json.h"

namespace garden::retrieval {

namespace {

std::string string_field(const Json& object, const char* key, bool required, const std::filesystem::path& path, int64_t line) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    if (required) throw Error(fmt::format("{}:{}: missing field '{}'", path.string(), line, key));
    return "";
  }
  if (it->is_number_integer()) return std::to_string(it->get<int64_t>());  // some dumps write numeric ids
  if (!it->is_string()) throw Error(fmt::format("{}:{}: field '{}' is not a string", path.string(), line, key));
  return it->get<std::string>();
}

}  // namespace

std::string document_text(const Document& doc) { return doc.title.empty() ? doc.text : doc.title + " " + doc.text; }

std::vector<std::string> read_jsonl_texts(const std::filesystem::path& path, std::vector<std::string>* ids) {
  std::vector<std::string> texts;
  for_each_jsonl_object(path, [&](const Json& o, int64_t line) {
    texts.push_back(document_text({"", string_field(o, "title", false, path, line), string_field(o, "text", true, path, line)}));
    if (ids != nullptr) {
      const std::string id = string_field(o, "_id", false, path, line);
      ids->push_back(id.empty() ? std::to_string(line) : id);
    }
  });
  return texts;
}

std::vector<Document> read_beir_corpus(const std::filesystem::path& corpus_path) {
  std::vector<Document> corpus;
  std::set<std::string> doc_ids;
  for_each_jsonl_object(corpus_path, [&](const Json& o, int64_t line) {
    Document d{string_field(o, "_id", true, corpus_path, line), string_field(o, "title", false, corpus_path, line),
               string_field(o, "text", true, corpus_path, line)};
    if (!doc_ids.insert(d.id).second) throw Error(fmt::format("{}:{}: duplicate document id '{}'", corpus_path.string(), line, d.id));
    corpus.push_back(std::move(d));
  });
  return corpus;
}

Collection read_beir_collection(const std::filesystem::path& dir, const std::string& split) {
  if (!std::filesystem::is_directory(dir)) throw Error("collection " + dir.string() + ": no such folder");
  Collection c;
  c.name = dir.filename().string();
  const auto corpus_path = dir / "corpus.jsonl";
  c.corpus = read_beir_corpus(corpus_path);
  std::set<std::string> doc_ids, query_ids;
  int64_t empty_docs = 0;
  for (const auto& d : c.corpus) {
    doc_ids.insert(d.id);
    if (d.title.empty() && d.text.empty()) ++empty_docs;
  }
  const auto queries_path = dir / "queries.jsonl";
  for_each_jsonl_object(queries_path, [&](const Json& o, int64_t line) {
    Query q{string_field(o, "_id", true, queries_path, line), string_field(o, "text", true, queries_path, line)};
    if (!query_ids.insert(q.id).second) throw Error(fmt::format("{}:{}: duplicate query id '{}'", queries_path.string(), line, q.id));
    c.queries.push_back(std::move(q));
  });
  const auto qrels_path = dir / "qrels" / (split + ".tsv");
  int64_t unknown_queries = 0, unknown_docs = 0;
  for (const auto& [qid, judged] : read_beir_qrels(qrels_path)) {
    if (!query_ids.count(qid)) {
      unknown_queries += static_cast<int64_t>(judged.size());
      continue;
    }
    for (const auto& [doc, rel] : judged) {
      if (!doc_ids.count(doc)) {
        ++unknown_docs;
        continue;
      }
      c.qrels[qid][doc] = rel;
    }
  }
  if (empty_docs) c.warnings.push_back(fmt::format("{}: {} documents have an empty title and text (kept)", corpus_path.string(), empty_docs));
  if (unknown_queries) c.warnings.push_back(fmt::format("{}: {} judgements name unknown queries (dropped)", qrels_path.string(), unknown_queries));
  if (unknown_docs) c.warnings.push_back(fmt::format("{}: {} judgements name unknown documents (dropped)", qrels_path.string(), unknown_docs));
  if (c.corpus.empty()) throw Error(corpus_path.string() + ": no documents");
  if (c.queries.empty()) throw Error(queries_path.string() + ": no queries");
  return c;
}

void write_beir_collection(const Collection& collection, const std::filesystem::path& dir, const std::string& split,
                           const std::map<std::string, Qrels>& more_splits) {
  const auto staged = staging_path(dir);
  std::filesystem::create_directories(staged / "qrels");
  std::string corpus, queries;
  for (const Document& d : collection.corpus) corpus += Json{{"_id", d.id}, {"title", d.title}, {"text", d.text}}.dump() + "\n";
  for (const Query& q : collection.queries) queries += Json{{"_id", q.id}, {"text", q.text}}.dump() + "\n";
  // Judgements in the queries' order.
  const auto qrels_text = [&](const Qrels& judgements) {
    std::string text = "query-id\tcorpus-id\tscore\n";
    for (const Query& q : collection.queries) {
      const auto judged = judgements.find(q.id);
      if (judged == judgements.end()) continue;
      for (const auto& [doc, grade] : judged->second) text += fmt::format("{}\t{}\t{}\n", q.id, doc, grade);
    }
    return text;
  };
  write_file_atomic(staged / "corpus.jsonl", corpus);
  write_file_atomic(staged / "queries.jsonl", queries);
  write_file_atomic(staged / "qrels" / (split + ".tsv"), qrels_text(collection.qrels));
  for (const auto& [name, judgements] : more_splits) write_file_atomic(staged / "qrels" / (name + ".tsv"), qrels_text(judgements));
  replace_dir_atomic(staged, dir);
}

}  // namespace garden::retrieval
