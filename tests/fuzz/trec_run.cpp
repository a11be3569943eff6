// retrieval/trec.cpp: TREC run files (read_trec_run), ranked as trec_eval ranks them.
#include "fuzz_input.h"
#include "garden/retrieval/trec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = garden::fuzz::write_input("run.trec", data, size);
  garden::fuzz::result_or_error(path.string(), [&] {
    for (const auto& [query, docs] : garden::retrieval::read_trec_run(path)) garden::retrieval::rank_like_trec_eval(docs);
  });
  return 0;
}
