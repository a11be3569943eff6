// succinct/brasp.cpp: a B-RASP program file (`garden succinct accepts --program FILE`), read
// with load_program and run on its alphabet as a word.
#include "fuzz_input.h"
#include "garden/succinct/brasp.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = garden::fuzz::write_input("program.json", data, size);
  garden::fuzz::result_or_error(path.string(), [&] {
    const auto program = garden::succinct::load_program(path);
    garden::succinct::Interpreter(program).accepts(program.alphabet());
  });
  return 0;
}
