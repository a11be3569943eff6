// Typed config fields: a value that does not fit its field, and a key no field has, are
// errors naming the key, not silently truncated or ignored.
#include "garden/core/json.h"

#include <gtest/gtest.h>

#include "garden/core/files.h"
#include "test_files.h"

namespace garden {
namespace {

TEST(ReadField, IntegerFieldsRefuseNonIntegralNumbers) {
  int64_t d_model = 0;
  read_field(Json{{"d_model", 16.0}}, "d_model", d_model, "cfg.json");
  EXPECT_EQ(d_model, 16);
  testing::expect_error_containing([&] { read_field(Json{{"d_model", 16.7}}, "d_model", d_model, "cfg.json"); },
                                   "cfg.json: field 'd_model' must be an integer, got 16.7");
  int n_heads = 0;
  testing::expect_error_containing([&] { read_field(Json{{"n_heads", 1e30}}, "n_heads", n_heads, "cfg.json"); },
                                   "field 'n_heads' must be an integer");
  uint64_t seed = 0;
  testing::expect_error_containing([&] { read_field(Json{{"seed", -1}}, "seed", seed, "cfg.json"); },
                                   "cfg.json: field 'seed' must be an integer >= 0, got -1");
  double lr = 0;
  read_field(Json{{"lr", 3}}, "lr", lr, "cfg.json");
  EXPECT_DOUBLE_EQ(lr, 3.0);
}

TEST(RefuseUnknownKeys, NamesTheFirstUnknownKeyAndTheKnownOnes) {
  const Json known{{"d_model", 1}, {"n_heads", 1}};
  refuse_unknown_keys(Json{{"d_model", 16}}, known, "cfg.json model");
  testing::expect_error_containing([&] { refuse_unknown_keys(Json{{"d_modle", 16}}, known, "cfg.json model"); },
                                   "cfg.json model: unknown field 'd_modle' (known: d_model, n_heads)");
  refuse_unknown_keys(Json{{"out", "x"}}, Json{"model", "out"}, "cfg.json");
  testing::expect_error_containing([&] { refuse_unknown_keys(Json{{"modle", 1}}, Json{"model", "out"}, "cfg.json"); },
                                   "unknown field 'modle'");
}

// A number beyond a double makes nlohmann throw out_of_range.406, not parse_error; it used
// to escape every JSON reader as a foreign exception (found by tests/fuzz/brasp.cpp and
// tests/fuzz/pairs.cpp, from "1111177777777777e7777..." and "738.77775555e554").
TEST(ReadJson, NumbersBeyondADoubleAreErrorsNamingTheFile) {
  testing::TempDir dir;
  write_file_atomic(dir.path() / "cfg.json", "{\"lr\": 738.77775555e554}");
  testing::expect_error_containing([&] { read_json_file(dir.path() / "cfg.json"); },
                                   (dir.path() / "cfg.json").string() + ": not valid JSON (a number too large for a double)");
  write_file_atomic(dir.path() / "lines.jsonl", "{\"a\": 1}\n{\"a\": -1e999}\n");
  testing::expect_error_containing([&] { for_each_jsonl_object(dir.path() / "lines.jsonl", [](const Json&, int64_t) {}); },
                                   (dir.path() / "lines.jsonl").string() + ":2: not a valid JSON line");
}

}  // namespace
}  // namespace garden
