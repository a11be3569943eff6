// model/config.cpp: a model config (TransformerConfig::from_json, which refuses unknown keys)
// read from a JSON file (core/json.cpp, read_json_file).
#include "fuzz_input.h"
#include "garden/core/json.h"
#include "garden/model/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = garden::fuzz::write_input("model.json", data, size);
  garden::fuzz::result_or_error(path.string(), [&] { garden::model::TransformerConfig::from_json(garden::read_json_file(path), path.string()); });
  return 0;
}
