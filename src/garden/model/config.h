// TransformerConfig: the saved architecture of every garden model (what config.json beside
// model.safetensors holds). Run-time choices (mask mode, what forward returns, sampling)
// are call arguments, never fields here.
#pragma once

#include <cstdint>
#include <string>

#include "garden/core/json.h"

namespace garden::model {

enum class Norm { layernorm, rmsnorm };
enum class Positions { learned, rope };
enum class Mlp { gelu, swiglu };
// Gated attention (Qiu et al., arXiv:2505.06708): none, one scalar per head and token
// (headwise), or one per channel (elementwise).
enum class AttentionGate { none, headwise, elementwise };
// Where the gate multiplies: G1 = each head's SDPA output (the paper's best), G2 = the
// value projection output.
enum class GatePosition { sdpa, value };
// sigmoid: sigma(x) in (0,1), sparse; ns_sigmoid: 0.5 + 0.5 sigma(x), the paper's
// non-sparse control.
enum class GateActivation { sigmoid, ns_sigmoid };

struct TransformerConfig {
  int64_t vocab = 8000;     // V
  int64_t d_model = 128;    // C
  int64_t n_layers = 4;     // L
  int64_t n_heads = 4;      // H (query heads); head dim D = C / H
  int64_t n_kv_heads = 0;   // grouped-query attention; 0 = n_heads (plain multi-head)
  int64_t d_ff = 0;         // F; 0 = 4C for gelu, 8C/3 rounded up to 8 for swiglu (LLaMA)
  int64_t max_seq = 256;    // longest sequence (size of the learned position table)
  Norm norm = Norm::rmsnorm;
  Positions pos = Positions::rope;
  Mlp mlp = Mlp::swiglu;
  double dropout = 0.0;
  bool tie_embeddings = true;
  AttentionGate attention_gate = AttentionGate::none;
  GatePosition gate_position = GatePosition::sdpa;
  GateActivation gate_activation = GateActivation::sigmoid;
  double rope_base = 10000.0;  // theta in RoFormer; 10k as in LLaMA
  double norm_eps = 1e-5;

  // Throws garden::Error naming the field, its value and the constraint.
  void validate() const;
  int64_t head_dim() const { return d_model / n_heads; }
  int64_t kv_heads() const { return n_kv_heads == 0 ? n_heads : n_kv_heads; }
  int64_t ff_width() const;

  Json to_json() const;
  // Missing fields keep their defaults; `where` names the document in errors.
  static TransformerConfig from_json(const Json& json, const std::string& where);
};

// Parameters the gate adds to one layer: C*H*D (elementwise) or C*H (headwise) at G1.
int64_t gate_params_per_layer(const TransformerConfig& config);
// A d_ff that keeps the parameter count of `config` with its gate close to the count
// without the gate (the paper narrows the FFN of its gated dense models).
int64_t d_ff_matching_ungated(const TransformerConfig& config);

std::string to_string(Norm v);
std::string to_string(Positions v);
std::string to_string(Mlp v);
std::string to_string(AttentionGate v);
std::string to_string(GatePosition v);
std::string to_string(GateActivation v);
Norm parse_norm(const std::string& s);
Positions parse_positions(const std::string& s);
Mlp parse_mlp(const std::string& s);
AttentionGate parse_attention_gate(const std::string& s);
GatePosition parse_gate_position(const std::string& s);
GateActivation parse_gate_activation(const std::string& s);

}  // namespace garden::model
