// Model configs read from a file: a value out of range, or a choice that is not one, is an
// error naming the file and the field on one line (found by tests/fuzz/model_config.cpp: these
// errors named neither, and a value holding a newline split them over lines).
#include "garden/model/config.h"

#include <gtest/gtest.h>

#include "garden/core/error.h"

namespace garden::model {
namespace {

void expect_usage_error(const Json& json, const std::string& fragment) {
  try {
    TransformerConfig::from_json(json, "cfg.json model");
    ADD_FAILURE() << json.dump() << " was accepted";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.rfind("cfg.json model: ", 0), 0u) << message;
    EXPECT_NE(message.find(fragment), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_EQ(e.kind(), ErrorKind::usage) << message;
  }
}

TEST(ModelConfig, ErrorsOfAConfigFileNameIt) {
  expect_usage_error(Json{{"d_model", 30}, {"n_heads", 4}}, "n_heads must divide d_model");
  expect_usage_error(Json{{"vocab", 0}}, "vocab must be > 0");
  expect_usage_error(Json{{"norm", "batchnorm"}}, "norm must be one of layernorm|rmsnorm, got 'batchnorm'");
  expect_usage_error(Json{{"mlp", "relu\nnext line"}}, "mlp must be one of gelu|swiglu, got 'relu\\nnext line'");
}

}  // namespace
}  // namespace garden::model
