#include "garden/model/gguf_export.h"

#include <fmt/core.h>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/model/model_folder.h"
#include "garden/text/sentencepiece_model.h"

namespace garden::model {

namespace {

using gguf::Value;
using gguf::ValueType;

// A tensor's elements as ggml stores them: little-endian (garden builds for little-endian
// hosts only), in torch's row-major order, dims reversed.
gguf::Tensor ggml_tensor(const std::string& name, torch::Tensor t, GgufDtype dtype) {
  t = t.detach().to(torch::kCPU);
  const bool half = dtype == GgufDtype::f16 && t.dim() >= 2;
  t = t.to(half ? torch::kHalf : torch::kFloat32).contiguous();
  gguf::Tensor out;
  out.name = name;
  for (int64_t d = t.dim() - 1; d >= 0; --d) out.dims.push_back(static_cast<uint64_t>(t.size(d)));
  out.type = half ? gguf::TensorType::f16 : gguf::TensorType::f32;
  out.data.assign(static_cast<const char*>(t.data_ptr()), static_cast<size_t>(t.numel() * t.element_size()));
  return out;
}

Value u32(int64_t v) { return Value::u32(static_cast<uint32_t>(v)); }

}  // namespace

GgufDtype parse_gguf_dtype(const std::string& s) {
  if (s == "f32") return GgufDtype::f32;
  if (s == "f16") return GgufDtype::f16;
  usage_error("--dtype must be f32 or f16, got '" + s + "'");
}

void check_llama_expressible(const TransformerConfig& c) {
  auto refuse = [](const std::string& what) {
    usage_error("export gguf: llama.cpp's llama architecture cannot express " + what);
  };
  if (c.norm != Norm::rmsnorm) refuse("norm=" + to_string(c.norm) + " (it has RMSNorm only)");
  if (c.pos != Positions::rope) refuse("pos=" + to_string(c.pos) + " (it has RoPE only)");
  if (c.mlp != Mlp::swiglu) refuse("mlp=" + to_string(c.mlp) + " (it has SwiGLU only)");
  if (c.attention_gate != AttentionGate::none)
    refuse("attention_gate=" + to_string(c.attention_gate) + " (gated attention's sigmoid gate on the attention output)");
}

torch::Tensor rope_rows_to_adjacent_pairs(const torch::Tensor& weight, int64_t heads) {
  const int64_t rows = weight.size(0), in = weight.size(1), d = rows / heads;
  return weight.view({heads, 2, d / 2, in}).transpose(1, 2).reshape({rows, in});
}

GgufExport llama_gguf(Transformer& model, const std::string& tokenizer_spec, GgufDtype dtype, const std::string& name) {
  const auto& c = model->config();
  check_llama_expressible(c);
  if (tokenizer_spec == "bytes" || tokenizer_spec.empty())
    usage_error("export gguf: the model uses " + std::string(tokenizer_spec.empty() ? "no tokenizer" : "the byte tokenizer") +
                "; llama.cpp needs a SentencePiece one (train the model with --tokenizer X.model)");
  const auto spm = text::read_sentencepiece_model(tokenizer_spec);
  GgufExport out;
  if (static_cast<int64_t>(spm.pieces.size()) > c.vocab)
    usage_error(fmt::format("export gguf: the tokenizer has {} pieces but the model only {} token embeddings",
                            spm.pieces.size(), c.vocab));
  if (spm.model_type != "bpe")
    out.warnings.push_back(fmt::format(
        "the tokenizer is {}: llama.cpp segments text by merging pieces in score order, which is exact for BPE "
        "but can differ from SentencePiece's {} segmentation; token ids given directly agree",
        spm.model_type, spm.model_type));
  if (spm.remove_extra_whitespaces)
    out.warnings.push_back("the tokenizer collapses repeated spaces, which llama.cpp does not");

  auto& f = out.file;
  auto meta = [&](const std::string& key, Value v) { f.metadata.emplace_back(key, std::move(v)); };
  meta("general.architecture", Value::string("llama"));
  meta("general.name", Value::string(name));
  // garden's own record of the architecture: marks the file as garden's output, and keeps
  // what the llama keys do not say (e.g. that the model was trained with tied embeddings).
  meta("garden.config", Value::string(c.to_json().dump()));
  meta("general.file_type", u32(dtype == GgufDtype::f16 ? 1 : 0));  // llama_ftype: ALL_F32 or MOSTLY_F16
  meta("llama.vocab_size", u32(c.vocab));
  meta("llama.context_length", u32(c.max_seq));
  meta("llama.embedding_length", u32(c.d_model));
  meta("llama.block_count", u32(c.n_layers));
  meta("llama.feed_forward_length", u32(c.ff_width()));
  meta("llama.attention.head_count", u32(c.n_heads));
  meta("llama.attention.head_count_kv", u32(c.kv_heads()));
  meta("llama.rope.dimension_count", u32(c.head_dim()));
  meta("llama.rope.freq_base", Value::f32(static_cast<float>(c.rope_base)));
  meta("llama.attention.layer_norm_rms_epsilon", Value::f32(static_cast<float>(c.norm_eps)));

  // The vocabulary; rows of the embedding beyond the tokenizer's pieces (a model may have
  // more) become unused pieces, since llama.cpp sizes the embedding by the vocabulary.
  std::vector<Value> tokens, scores, types;
  int64_t unk = -1, bos = -1, eos = -1, pad = -1;
  for (size_t id = 0; id < spm.pieces.size(); ++id) {
    const auto& p = spm.pieces[id];
    tokens.push_back(Value::string(p.piece));
    scores.push_back(Value::f32(p.score));
    types.push_back(Value::i32(static_cast<int32_t>(p.type)));
    const auto i = static_cast<int64_t>(id);
    if (p.type == text::PieceType::unknown && unk < 0) unk = i;
    if (p.type == text::PieceType::control) {
      if (p.piece == "<s>") bos = i;
      if (p.piece == "</s>") eos = i;
      if (p.piece == "<pad>") pad = i;
    }
  }
  for (int64_t id = static_cast<int64_t>(spm.pieces.size()); id < c.vocab; ++id) {
    tokens.push_back(Value::string(fmt::format("<unused{}>", id)));
    scores.push_back(Value::f32(0.0f));
    types.push_back(Value::i32(static_cast<int32_t>(text::PieceType::unused)));
  }
  if (bos < 0 || eos < 0)
    usage_error("export gguf: the tokenizer " + tokenizer_spec + " lacks <s> or </s>, which every garden prompt uses");
  meta("tokenizer.ggml.model", Value::string("llama"));  // llama.cpp's name for SentencePiece vocabularies
  meta("tokenizer.ggml.tokens", Value::array(ValueType::string, std::move(tokens)));
  meta("tokenizer.ggml.scores", Value::array(ValueType::f32, std::move(scores)));
  meta("tokenizer.ggml.token_type", Value::array(ValueType::i32, std::move(types)));
  meta("tokenizer.ggml.bos_token_id", u32(bos));
  meta("tokenizer.ggml.eos_token_id", u32(eos));
  if (unk >= 0) meta("tokenizer.ggml.unknown_token_id", u32(unk));
  if (pad >= 0) meta("tokenizer.ggml.padding_token_id", u32(pad));
  meta("tokenizer.ggml.add_bos_token", Value::boolean(true));  // garden puts BOS before every prompt
  meta("tokenizer.ggml.add_eos_token", Value::boolean(false));
  meta("tokenizer.ggml.add_space_prefix", Value::boolean(spm.add_dummy_prefix));

  torch::NoGradGuard no_grad;
  auto params = model->named_parameters();
  auto param = [&](const std::string& key) {
    auto* p = params.find(key);
    if (!p) throw Error("export gguf: the model lacks parameter " + key);
    return *p;
  };
  f.tensors.push_back(ggml_tensor("token_embd.weight", param("token_embedding.weight"), dtype));
  for (int64_t i = 0; i < c.n_layers; ++i) {
    const std::string from = fmt::format("blocks.{}.", i), to = fmt::format("blk.{}.", i);
    f.tensors.push_back(ggml_tensor(to + "attn_norm.weight", param(from + "norm_attention.rms.weight"), dtype));
    f.tensors.push_back(ggml_tensor(
        to + "attn_q.weight", rope_rows_to_adjacent_pairs(param(from + "attention.q.weight"), c.n_heads), dtype));
    f.tensors.push_back(ggml_tensor(
        to + "attn_k.weight", rope_rows_to_adjacent_pairs(param(from + "attention.k.weight"), c.kv_heads()), dtype));
    f.tensors.push_back(ggml_tensor(to + "attn_v.weight", param(from + "attention.v.weight"), dtype));
    f.tensors.push_back(ggml_tensor(to + "attn_output.weight", param(from + "attention.o.weight"), dtype));
    f.tensors.push_back(ggml_tensor(to + "ffn_norm.weight", param(from + "norm_mlp.rms.weight"), dtype));
    f.tensors.push_back(ggml_tensor(to + "ffn_gate.weight", param(from + "mlp.in.weight"), dtype));
    f.tensors.push_back(ggml_tensor(to + "ffn_up.weight", param(from + "mlp.up.weight"), dtype));
    f.tensors.push_back(ggml_tensor(to + "ffn_down.weight", param(from + "mlp.down.weight"), dtype));
  }
  f.tensors.push_back(ggml_tensor("output_norm.weight", param("final_norm.rms.weight"), dtype));
  // Tied embeddings: no output.weight, and llama.cpp reads token_embd in its place.
  if (!c.tie_embeddings) f.tensors.push_back(ggml_tensor("output.weight", param("lm_head.weight"), dtype));
  return out;
}

namespace {

void refuse_foreign_output(const std::filesystem::path& out) {
  refuse_foreign_output_file(out, "an earlier GGUF export of garden", [](const std::filesystem::path& file) {
    return gguf::parse(read_file(file), file.string()).find("garden.config") != nullptr;
  });
}

}  // namespace

GgufExportSummary export_gguf(const std::filesystem::path& model_dir, const std::filesystem::path& out, GgufDtype dtype) {
  refuse_foreign_output(out);
  auto loaded = load_model(model_dir);
  std::string name = std::filesystem::weakly_canonical(model_dir).filename().string();
  auto exported = llama_gguf(loaded.model, loaded.tokenizer_spec, dtype, name.empty() ? "garden" : name);
  const std::string bytes = gguf::serialize(exported.file);
  write_file_atomic(out, bytes);
  GgufExportSummary summary;
  summary.tensors = static_cast<int64_t>(exported.file.tensors.size());
  summary.parameters = loaded.model->parameter_count();
  summary.vocab = loaded.model->config().vocab;
  summary.bytes = bytes.size();
  summary.warnings = std::move(exported.warnings);
  return summary;
}

}  // namespace garden::model
