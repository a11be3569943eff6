// text/pairs.cpp: training pairs JSONL (read_training_pairs) and labelled texts
// (read_labelled_texts).
#include "fuzz_input.h"
#include "garden/text/pairs.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = garden::fuzz::write_input("pairs.jsonl", data, size);
  garden::fuzz::result_or_error(path.string(), [&] { garden::text::read_training_pairs(path); });
  garden::fuzz::result_or_error(path.string(), [&] { garden::text::read_labelled_texts(path); });
  return 0;
}
