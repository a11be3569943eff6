#include "garden/model/config.h"

#include <fmt/core.h>

namespace garden::model {

namespace {

template <typename Enum>
Enum parse_enum(const std::string& field, const std::string& value,
                std::initializer_list<std::pair<const char*, Enum>> choices) {
  std::string names;
  for (const auto& [name, e] : choices) {
    if (value == name) return e;
    names += names.empty() ? name : std::string("|") + name;
  }
  // The value as JSON writes it: one line, whatever it holds.
  const std::string quoted = nlohmann::json(value).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  usage_error(fmt::format("{} must be one of {}, got '{}'", field, names, quoted.substr(1, quoted.size() - 2)));
}

}  // namespace

std::string to_string(Norm v) { return v == Norm::layernorm ? "layernorm" : "rmsnorm"; }
std::string to_string(Positions v) { return v == Positions::learned ? "learned" : "rope"; }
std::string to_string(Mlp v) { return v == Mlp::gelu ? "gelu" : "swiglu"; }
std::string to_string(AttentionGate v) {
  return v == AttentionGate::none ? "none" : v == AttentionGate::headwise ? "headwise" : "elementwise";
}
std::string to_string(GatePosition v) { return v == GatePosition::sdpa ? "sdpa" : "value"; }
std::string to_string(GateActivation v) { return v == GateActivation::sigmoid ? "sigmoid" : "ns_sigmoid"; }

Norm parse_norm(const std::string& s) {
  return parse_enum<Norm>("norm", s, {{"layernorm", Norm::layernorm}, {"rmsnorm", Norm::rmsnorm}});
}
Positions parse_positions(const std::string& s) {
  return parse_enum<Positions>("pos", s, {{"learned", Positions::learned}, {"rope", Positions::rope}});
}
Mlp parse_mlp(const std::string& s) {
  return parse_enum<Mlp>("mlp", s, {{"gelu", Mlp::gelu}, {"swiglu", Mlp::swiglu}});
}
AttentionGate parse_attention_gate(const std::string& s) {
  return parse_enum<AttentionGate>("attention_gate", s,
                                   {{"none", AttentionGate::none},
                                    {"headwise", AttentionGate::headwise},
                                    {"elementwise", AttentionGate::elementwise}});
}
GatePosition parse_gate_position(const std::string& s) {
  return parse_enum<GatePosition>("gate_position", s, {{"sdpa", GatePosition::sdpa}, {"value", GatePosition::value}});
}
GateActivation parse_gate_activation(const std::string& s) {
  return parse_enum<GateActivation>("gate_activation", s,
                                    {{"sigmoid", GateActivation::sigmoid}, {"ns_sigmoid", GateActivation::ns_sigmoid}});
}

int64_t TransformerConfig::ff_width() const {
  if (d_ff > 0) return d_ff;
  if (mlp == Mlp::gelu) return 4 * d_model;
  return (8 * d_model / 3 + 7) / 8 * 8;
}

void TransformerConfig::validate() const {
  auto require = [](bool ok, const std::string& message) {
    if (!ok) usage_error("model config: " + message);
  };
  require(vocab > 0, fmt::format("vocab must be > 0, got {}", vocab));
  require(d_model > 0, fmt::format("d_model must be > 0, got {}", d_model));
  require(n_layers > 0, fmt::format("n_layers must be > 0, got {}", n_layers));
  require(n_heads > 0 && d_model % n_heads == 0,
          fmt::format("n_heads must divide d_model, got n_heads={} d_model={}", n_heads, d_model));
  require(n_kv_heads >= 0 && (n_kv_heads == 0 || n_heads % n_kv_heads == 0),
          fmt::format("n_kv_heads must divide n_heads, got n_kv_heads={} n_heads={}", n_kv_heads, n_heads));
  require(d_ff >= 0, fmt::format("d_ff must be >= 0 (0 = default), got {}", d_ff));
  require(max_seq > 0, fmt::format("max_seq must be > 0, got {}", max_seq));
  require(dropout >= 0.0 && dropout < 1.0, fmt::format("dropout must be in [0, 1), got {}", dropout));
  require(pos != Positions::rope || head_dim() % 2 == 0,
          fmt::format("rope needs an even head dim, got d_model/n_heads={}", head_dim()));
  require(rope_base > 0, fmt::format("rope_base must be > 0, got {}", rope_base));
  require(norm_eps > 0, fmt::format("norm_eps must be > 0, got {}", norm_eps));
}

Json TransformerConfig::to_json() const {
  return Json{{"vocab", vocab},
              {"d_model", d_model},
              {"n_layers", n_layers},
              {"n_heads", n_heads},
              {"n_kv_heads", n_kv_heads},
              {"d_ff", ff_width()},
              {"max_seq", max_seq},
              {"norm", to_string(norm)},
              {"pos", to_string(pos)},
              {"mlp", to_string(mlp)},
              {"dropout", dropout},
              {"tie_embeddings", tie_embeddings},
              {"attention_gate", to_string(attention_gate)},
              {"gate_position", to_string(gate_position)},
              {"gate_activation", to_string(gate_activation)},
              {"rope_base", rope_base},
              {"norm_eps", norm_eps}};
}

TransformerConfig TransformerConfig::from_json(const Json& json, const std::string& where) {
  if (!json.is_object()) throw Error(where + ": model config must be a JSON object");
  TransformerConfig c;
  refuse_unknown_keys(json, c.to_json(), where);
  read_field(json, "vocab", c.vocab, where);
  read_field(json, "d_model", c.d_model, where);
  read_field(json, "n_layers", c.n_layers, where);
  read_field(json, "n_heads", c.n_heads, where);
  read_field(json, "n_kv_heads", c.n_kv_heads, where);
  read_field(json, "d_ff", c.d_ff, where);
  read_field(json, "max_seq", c.max_seq, where);
  read_field(json, "dropout", c.dropout, where);
  read_field(json, "tie_embeddings", c.tie_embeddings, where);
  read_field(json, "rope_base", c.rope_base, where);
  read_field(json, "norm_eps", c.norm_eps, where);
  std::string norm, pos, mlp, gate, gate_position, gate_activation;
  read_field(json, "norm", norm, where);
  read_field(json, "pos", pos, where);
  read_field(json, "mlp", mlp, where);
  read_field(json, "attention_gate", gate, where);
  read_field(json, "gate_position", gate_position, where);
  read_field(json, "gate_activation", gate_activation, where);
  // The choices and the ranges name the field; the prefix names the file.
  try {
    if (!norm.empty()) c.norm = parse_norm(norm);
    if (!pos.empty()) c.pos = parse_positions(pos);
    if (!mlp.empty()) c.mlp = parse_mlp(mlp);
    if (!gate.empty()) c.attention_gate = parse_attention_gate(gate);
    if (!gate_position.empty()) c.gate_position = parse_gate_position(gate_position);
    if (!gate_activation.empty()) c.gate_activation = parse_gate_activation(gate_activation);
    c.validate();
  } catch (const Error& e) {
    throw Error(where + ": " + e.what(), e.kind());
  }
  return c;
}

int64_t gate_params_per_layer(const TransformerConfig& config) {
  const int64_t heads = config.gate_position == GatePosition::sdpa ? config.n_heads : config.kv_heads();
  switch (config.attention_gate) {
    case AttentionGate::none: return 0;
    case AttentionGate::headwise: return config.d_model * heads;
    case AttentionGate::elementwise: return config.d_model * heads * config.head_dim();
  }
  return 0;
}

int64_t d_ff_matching_ungated(const TransformerConfig& config) {
  // Each unit of FFN width costs 3C parameters with SwiGLU (two in, one out), 2C with GELU.
  const int64_t per_unit = (config.mlp == Mlp::swiglu ? 3 : 2) * config.d_model;
  const int64_t reduced = config.ff_width() - (gate_params_per_layer(config) + per_unit / 2) / per_unit;
  if (reduced <= 0) usage_error("model config: the gate needs more parameters than the FFN has; raise d_ff");
  return reduced;
}

}  // namespace garden::model
