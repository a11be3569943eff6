// BEIR-layout collections: corpus.jsonl ({"_id","title","text"}), queries.jsonl
// ({"_id","text"}), qrels/<split>.tsv. Reading validates as it goes:
//   errors (stop, naming file and line): unreadable file, a line that is not a JSON object,
//     a missing or non-string _id / text, a duplicate id;
//   warnings (counted, the collection still loads): documents whose title and text are both
//     empty (kept), judgements naming an unknown query or document (dropped, as BEIR's own
//     loader keeps only judgements it can resolve).
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "garden/retrieval/trec.h"

namespace garden::retrieval {

struct Document {
  std::string id, title, text;
};

struct Query {
  std::string id, text;
};

struct Collection {
  std::string name;
  std::vector<Document> corpus;
  std::vector<Query> queries;
  Qrels qrels;
  std::vector<std::string> warnings;  // one line each, with counts
};

Collection read_beir_collection(const std::filesystem::path& dir, const std::string& split = "test");
// The documents of one corpus.jsonl, in file order, read and checked as above (the errors;
// empty documents are kept without a warning).
std::vector<Document> read_beir_corpus(const std::filesystem::path& corpus_path);

// Writes corpus.jsonl, queries.jsonl and qrels/<split>.tsv (BEIR layout) as one folder,
// atomically; `more_splits` adds qrels/<name>.tsv for each further split (e.g. "train").
void write_beir_collection(const Collection& collection, const std::filesystem::path& dir, const std::string& split = "test",
                           const std::map<std::string, Qrels>& more_splits = {});

// The text indexed and embedded for a document: title + " " + text (BEIR's convention; just
// the text when the title is empty).
std::string document_text(const Document& doc);

// The texts of one BEIR JSONL file (corpus.jsonl or queries.jsonl), in file order: each
// line's "text", after its "title" when it has one (as document_text). `ids`, when given,
// receives each line's "_id", or its line number where it has none.
std::vector<std::string> read_jsonl_texts(const std::filesystem::path& path, std::vector<std::string>* ids = nullptr);

}  // namespace garden::retrieval
