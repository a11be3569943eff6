// retrieval/dense.cpp: the document id list of `index build --ids` (read_id_list).
#include "fuzz_input.h"
#include "garden/retrieval/dense.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = garden::fuzz::write_input("ids.txt", data, size);
  garden::fuzz::result_or_error(path.string(), [&] { garden::retrieval::read_id_list(path); });
  return 0;
}
