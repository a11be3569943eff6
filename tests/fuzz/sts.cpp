// eval/sts.cpp: STS pairs, score<TAB>sentence1<TAB>sentence2 (read_sts_pairs).
#include "fuzz_input.h"
#include "garden/eval/sts.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = garden::fuzz::write_input("sts.tsv", data, size);
  garden::fuzz::result_or_error(path.string(), [&] { garden::eval::read_sts_pairs(path); });
  return 0;
}
