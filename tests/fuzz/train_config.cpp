// train/train_config.cpp: the "train" section of a config file (TrainConfig::from_json, which
// refuses unknown keys, then validate, as train/jobs.cpp reads it).
#include "fuzz_input.h"
#include "garden/train/train_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = garden::fuzz::write_input("train.json", data, size);
  garden::fuzz::result_or_error(path.string(), [&] {
    garden::train::TrainConfig::from_json(garden::read_json_file(path), path.string()).validate(path.string());
  });
  return 0;
}
