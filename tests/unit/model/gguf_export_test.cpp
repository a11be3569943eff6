#include "garden/model/gguf_export.h"

#include <gtest/gtest.h>

#include <cmath>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/model/layers.h"
#include "garden/model/model_folder.h"
#include "garden/text/sentencepiece_model.h"
#include "garden/text/tokenizer.h"
#include "test_helpers.h"

namespace garden::model {
namespace {

// llama.cpp's RoPE for the llama architecture (ggml_rope, mode 0), written out slowly: dims
// 2i and 2i+1 of each head rotate by pos * base^(-2i/D).
torch::Tensor rope_adjacent_pairs_reference(const torch::Tensor& x, int64_t pos, double base) {  // x: [D] float64
  auto out = x.clone();
  const int64_t d = x.size(0);
  for (int64_t i = 0; i < d / 2; ++i) {
    const double theta = static_cast<double>(pos) * std::pow(base, -2.0 * static_cast<double>(i) / static_cast<double>(d));
    const double x0 = x[2 * i].item<double>(), x1 = x[2 * i + 1].item<double>();
    out[2 * i] = x0 * std::cos(theta) - x1 * std::sin(theta);
    out[2 * i + 1] = x0 * std::sin(theta) + x1 * std::cos(theta);
  }
  return out;
}

// The permuted W_q, W_k with llama.cpp's RoPE give the attention scores garden's own RoPE
// gives with the original weights, for every head, query position and key position.
TEST(GgufExport, PermutedRopeRowsKeepEveryAttentionScore) {
  torch::manual_seed(3);
  const int64_t c = 12, h = 3, d = 8;
  const double base = 10000.0;
  auto wq = torch::randn({h * d, c}, torch::kFloat64), wk = torch::randn({h * d, c}, torch::kFloat64);
  auto x = torch::randn({5, c}, torch::kFloat64);  // 5 positions
  auto positions = torch::arange(5, torch::kLong);
  // garden: [1,H,T,D] through apply_rope.
  auto q = apply_rope(torch::matmul(x, wq.t()).view({1, 5, h, d}).transpose(1, 2), positions, base);
  auto k = apply_rope(torch::matmul(x, wk.t()).view({1, 5, h, d}).transpose(1, 2), positions, base);
  auto garden_scores = torch::matmul(q, k.transpose(-2, -1))[0];  // [H,T,T]
  auto pq = rope_rows_to_adjacent_pairs(wq, h), pk = rope_rows_to_adjacent_pairs(wk, h);
  for (int64_t head = 0; head < h; ++head)
    for (int64_t i = 0; i < 5; ++i)
      for (int64_t j = 0; j < 5; ++j) {
        auto qi = rope_adjacent_pairs_reference(torch::matmul(pq, x[i]).narrow(0, head * d, d), i, base);
        auto kj = rope_adjacent_pairs_reference(torch::matmul(pk, x[j]).narrow(0, head * d, d), j, base);
        EXPECT_NEAR(qi.dot(kj).item<double>(), garden_scores[head][i][j].item<double>(), 1e-9) << head << " " << i << " " << j;
      }
}

class GgufExportModel : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    std::string corpus;
    for (int i = 0; i < 200; ++i) corpus += "the quick brown fox jumps over the lazy dog " + std::to_string(i) + "\n";
    write_file_atomic(dir_->path() / "corpus.txt", corpus);
    text::TokenizerTrainOptions o;
    o.inputs = {dir_->path() / "corpus.txt"};
    o.vocab = 320;
    o.user_symbols = {"<|user|>"};
    text::train_tokenizer(o, dir_->path() / "tok.model");
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string tokenizer() { return (dir_->path() / "tok.model").string(); }
  static TransformerConfig config() {
    TransformerConfig c;
    c.vocab = 324;  // 4 more rows than pieces: exported as unused pieces
    c.d_model = 16;
    c.n_layers = 2;
    c.n_heads = 4;
    c.n_kv_heads = 2;
    c.d_ff = 24;
    c.max_seq = 32;
    c.rope_base = 5000.0;
    c.norm_eps = 1e-6;
    return c;
  }
  static testing::TempDir* dir_;
};
testing::TempDir* GgufExportModel::dir_ = nullptr;

torch::Tensor tensor_values(const gguf::Tensor& t) {
  std::vector<int64_t> shape(t.dims.rbegin(), t.dims.rend());
  auto dtype = t.type == gguf::TensorType::f16 ? torch::kHalf : torch::kFloat32;
  return torch::from_blob(const_cast<char*>(t.data.data()), shape, dtype).to(torch::kFloat32).clone();
}

// Written, serialized and read back: every key the llama architecture needs with garden's
// values, every tensor under llama.cpp's name, shape and layout.
TEST_F(GgufExportModel, RoundTripHasEveryKeyAndTensor) {
  for (bool tied : {true, false}) {
    auto c = config();
    c.tie_embeddings = tied;
    torch::manual_seed(1);
    Transformer model(c);
    const auto file = gguf::parse(gguf::serialize(llama_gguf(model, tokenizer(), GgufDtype::f32, "tiny").file), "tiny.gguf");
    auto u32 = [&](const std::string& key) {
      const auto* v = file.find(key);
      EXPECT_TRUE(v && v->type == gguf::ValueType::u32) << key;
      return v ? v->integer : -1;
    };
    EXPECT_EQ(file.find("general.architecture")->text, "llama");
    EXPECT_EQ(file.find("general.name")->text, "tiny");
    EXPECT_EQ(TransformerConfig::from_json(Json::parse(file.find("garden.config")->text), "garden.config").to_json(), c.to_json());
    EXPECT_EQ(u32("llama.context_length"), 32);
    EXPECT_EQ(u32("llama.embedding_length"), 16);
    EXPECT_EQ(u32("llama.block_count"), 2);
    EXPECT_EQ(u32("llama.feed_forward_length"), 24);
    EXPECT_EQ(u32("llama.attention.head_count"), 4);
    EXPECT_EQ(u32("llama.attention.head_count_kv"), 2);
    EXPECT_EQ(u32("llama.rope.dimension_count"), 4);
    EXPECT_EQ(u32("llama.vocab_size"), 324);
    EXPECT_FLOAT_EQ(static_cast<float>(file.find("llama.rope.freq_base")->real), 5000.0f);
    EXPECT_FLOAT_EQ(static_cast<float>(file.find("llama.attention.layer_norm_rms_epsilon")->real), 1e-6f);

    const auto spm = text::read_sentencepiece_model(tokenizer());
    const auto& tokens = file.find("tokenizer.ggml.tokens")->items;
    const auto& scores = file.find("tokenizer.ggml.scores")->items;
    const auto& types = file.find("tokenizer.ggml.token_type")->items;
    ASSERT_EQ(tokens.size(), 324u);
    ASSERT_EQ(scores.size(), 324u);
    ASSERT_EQ(types.size(), 324u);
    for (size_t i = 0; i < spm.pieces.size(); ++i) {
      EXPECT_EQ(tokens[i].text, spm.pieces[i].piece);
      EXPECT_EQ(static_cast<float>(scores[i].real), spm.pieces[i].score);
      EXPECT_EQ(types[i].integer, static_cast<int64_t>(spm.pieces[i].type));
    }
    EXPECT_EQ(tokens[321].text, "<unused321>");
    EXPECT_EQ(types[323].integer, 5);
    auto tok = text::load_tokenizer(tokenizer());
    EXPECT_EQ(u32("tokenizer.ggml.bos_token_id"), tok->bos_id());
    EXPECT_EQ(u32("tokenizer.ggml.eos_token_id"), tok->eos_id());
    EXPECT_EQ(u32("tokenizer.ggml.padding_token_id"), tok->pad_id());
    EXPECT_EQ(u32("tokenizer.ggml.unknown_token_id"), 0);
    EXPECT_EQ(file.find("tokenizer.ggml.model")->text, "llama");
    EXPECT_EQ(file.find("tokenizer.ggml.add_bos_token")->integer, 1);
    EXPECT_EQ(file.find("tokenizer.ggml.add_eos_token")->integer, 0);
    EXPECT_EQ(file.find("tokenizer.ggml.add_space_prefix")->integer, 1);

    // Each garden parameter, as the exporter must have transformed it.
    auto params = model->named_parameters();
    std::vector<std::pair<std::string, torch::Tensor>> expected{{"token_embd.weight", params["token_embedding.weight"]},
                                                                {"output_norm.weight", params["final_norm.rms.weight"]}};
    if (!tied) expected.emplace_back("output.weight", params["lm_head.weight"]);
    for (int layer = 0; layer < 2; ++layer) {
      const std::string g = "blocks." + std::to_string(layer) + ".", l = "blk." + std::to_string(layer) + ".";
      expected.emplace_back(l + "attn_norm.weight", params[g + "norm_attention.rms.weight"]);
      expected.emplace_back(l + "attn_q.weight", rope_rows_to_adjacent_pairs(params[g + "attention.q.weight"], 4));
      expected.emplace_back(l + "attn_k.weight", rope_rows_to_adjacent_pairs(params[g + "attention.k.weight"], 2));
      expected.emplace_back(l + "attn_v.weight", params[g + "attention.v.weight"]);
      expected.emplace_back(l + "attn_output.weight", params[g + "attention.o.weight"]);
      expected.emplace_back(l + "ffn_norm.weight", params[g + "norm_mlp.rms.weight"]);
      expected.emplace_back(l + "ffn_gate.weight", params[g + "mlp.in.weight"]);
      expected.emplace_back(l + "ffn_up.weight", params[g + "mlp.up.weight"]);
      expected.emplace_back(l + "ffn_down.weight", params[g + "mlp.down.weight"]);
    }
    ASSERT_EQ(file.tensors.size(), expected.size());
    for (const auto& [name, value] : expected) {
      const auto* t = file.find_tensor(name);
      ASSERT_NE(t, nullptr) << name;
      EXPECT_EQ(t->type, gguf::TensorType::f32) << name;
      ASSERT_EQ(t->dims.size(), static_cast<size_t>(value.dim())) << name;
      EXPECT_EQ(t->dims[0], static_cast<uint64_t>(value.size(-1))) << name << ": ggml's first dim is torch's last";
      EXPECT_TRUE(torch::equal(tensor_values(*t), value.detach())) << name;
    }
  }
}

TEST_F(GgufExportModel, HalfPrecisionKeepsNormsInFloat32) {
  torch::manual_seed(2);
  Transformer model(config());
  const auto file = gguf::parse(gguf::serialize(llama_gguf(model, tokenizer(), GgufDtype::f16, "half").file), "half.gguf");
  EXPECT_EQ(file.find("general.file_type")->integer, 1);
  const auto* embd = file.find_tensor("token_embd.weight");
  EXPECT_EQ(embd->type, gguf::TensorType::f16);
  auto w = model->token_embedding->weight.detach();
  EXPECT_TRUE(torch::equal(tensor_values(*embd), w.to(torch::kHalf).to(torch::kFloat32)));
  EXPECT_EQ(file.find_tensor("blk.0.attn_norm.weight")->type, gguf::TensorType::f32);
  EXPECT_EQ(file.find_tensor("output_norm.weight")->type, gguf::TensorType::f32);
}

TEST_F(GgufExportModel, WhatLlamaCppCannotExpressIsRefused) {
  auto gated = config();
  gated.attention_gate = AttentionGate::headwise;
  testing::expect_error_containing([&] { check_llama_expressible(gated); }, "attention_gate=headwise");
  auto layernorm = config();
  layernorm.norm = Norm::layernorm;
  testing::expect_error_containing([&] { check_llama_expressible(layernorm); }, "norm=layernorm");
  auto learned = config();
  learned.pos = Positions::learned;
  testing::expect_error_containing([&] { check_llama_expressible(learned); }, "pos=learned");
  auto gelu = config();
  gelu.mlp = Mlp::gelu;
  testing::expect_error_containing([&] { check_llama_expressible(gelu); }, "mlp=gelu");
  Transformer model(config());
  testing::expect_error_containing([&] { llama_gguf(model, "bytes", GgufDtype::f32, "x"); }, "the byte tokenizer");
  auto small = config();
  small.vocab = 100;
  Transformer too_small(small);
  testing::expect_error_containing([&] { llama_gguf(too_small, tokenizer(), GgufDtype::f32, "x"); },
                                   "the tokenizer has 320 pieces but the model only 100 token embeddings");
}

TEST_F(GgufExportModel, ExportReplacesOnlyItsOwnEarlierFile) {
  testing::TempDir out;
  Transformer model(config());
  save_model(out.path() / "lm", model, tokenizer());
  const auto gguf_path = out.path() / "lm.gguf";
  const auto summary = export_gguf(out.path() / "lm", gguf_path, GgufDtype::f32);
  EXPECT_EQ(summary.tensors, 2 + 9 * 2);
  EXPECT_EQ(summary.vocab, 324);
  EXPECT_EQ(summary.bytes, std::filesystem::file_size(gguf_path));
  EXPECT_EQ(gguf::parse(read_file(gguf_path), "lm.gguf").find("general.name")->text, "lm");
  EXPECT_NO_THROW(export_gguf(out.path() / "lm", gguf_path, GgufDtype::f16));  // its own earlier output
  write_file_atomic(out.path() / "notes.txt", "mine");
  testing::expect_error_containing([&] { export_gguf(out.path() / "lm", out.path() / "notes.txt", GgufDtype::f32); },
                                   "is not an earlier GGUF export of garden");
  EXPECT_EQ(read_file(out.path() / "notes.txt"), "mine");
}

}  // namespace
}  // namespace garden::model
