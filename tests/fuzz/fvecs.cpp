// retrieval/vectors.cpp: .fvecs vectors (read_vectors on a .fvecs file).
#include "fuzz_input.h"
#include "garden/retrieval/vectors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = garden::fuzz::write_input("vectors.fvecs", data, size);
  garden::fuzz::result_or_error(path.string(), [&] { garden::retrieval::read_vectors(path); });
  return 0;
}
