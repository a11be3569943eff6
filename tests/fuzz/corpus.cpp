// text/corpus.cpp: training text, as JSONL with a string field (read_documents) and as plain
// lines (read_text_documents).
#include "fuzz_input.h"
#include "garden/text/corpus.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  for (const char* name : {"corpus.jsonl", "corpus.txt"}) {
    const auto path = garden::fuzz::write_input(name, data, size);
    garden::fuzz::result_or_error(path.string(), [&] { garden::text::read_documents(path, "text"); });
  }
  return 0;
}
