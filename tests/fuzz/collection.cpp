// retrieval/collection.cpp: a BEIR collection's corpus.jsonl and queries.jsonl
// (read_beir_collection, read_jsonl_texts). The input up to its first form feed is the corpus,
// the rest the queries (a fixed valid file when there is no form feed); the qrels are fixed.
#include "fuzz_input.h"
#include "garden/retrieval/collection.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const auto split = input.find('\f');
  const auto corpus = garden::fuzz::write_input("beir/corpus.jsonl", input.substr(0, split));
  const auto queries = garden::fuzz::write_input(
      "beir/queries.jsonl", split == std::string::npos ? std::string("{\"_id\": \"q1\", \"text\": \"a query\"}\n") : input.substr(split + 1));
  garden::fuzz::write_input("beir/qrels/test.tsv", std::string("query-id\tcorpus-id\tscore\nq1\td1\t1\n"));
  garden::fuzz::result_or_error(corpus.parent_path().string(), [&] { garden::retrieval::read_beir_collection(corpus.parent_path()); });
  garden::fuzz::result_or_error(corpus.string(), [&] { garden::retrieval::read_jsonl_texts(corpus); });
  garden::fuzz::result_or_error(queries.string(), [&] { garden::retrieval::read_jsonl_texts(queries); });
  return 0;
}
