// text/sentencepiece_model.cpp: the protobuf reading of a SentencePiece .model file that
// `garden export gguf` copies the vocabulary from.
#include "fuzz_input.h"
#include "garden/text/sentencepiece_model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  garden::fuzz::result_or_error("tokenizer.model", [&] { garden::text::parse_sentencepiece_model(bytes, "tokenizer.model"); });
  return 0;
}
