// retrieval/trec.cpp: relevance judgements, BEIR's qrels/<split>.tsv and TREC qrels (read_qrels
// picks the layout by extension).
#include "fuzz_input.h"
#include "garden/retrieval/trec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  for (const char* name : {"qrels/test.tsv", "qrels.txt"}) {
    const auto path = garden::fuzz::write_input(name, data, size);
    garden::fuzz::result_or_error(path.string(), [&] { garden::retrieval::read_qrels(path); });
  }
  return 0;
}
