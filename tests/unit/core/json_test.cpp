// Typed config fields: a value that does not fit its field, and a key no field has, are
// errors naming the key, not silently truncated or ignored.
#include "garden/core/json.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace garden
