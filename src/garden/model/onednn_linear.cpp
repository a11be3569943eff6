#include "garden/model/onednn_linear.h"

#include <ATen/autocast_mode.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "garden/model/autocast.h"

namespace garden::model {
namespace {

using dnnl::memory;

memory::data_type onednn_type(torch::ScalarType type) {
  return type == torch::kBFloat16 ? memory::data_type::bf16 : memory::data_type::f32;
}

// One product out[M,N] = op(a) op(b), op a transpose or not; a and b are row-major in memory,
// so a transposed operand is the same buffer described column-major.
struct ProductShape {
  int64_t m, k, n;
  bool a_transposed, b_transposed;
  memory::data_type operands, out;
  memory::desc a() const { return {{m, k}, operands, a_transposed ? memory::format_tag::ba : memory::format_tag::ab}; }
  memory::desc b() const { return {{k, n}, operands, b_transposed ? memory::format_tag::ba : memory::format_tag::ab}; }
  memory::desc result() const { return {{m, n}, out, memory::format_tag::ab}; }
  // bf16 products are built for their sizes (AMX's kernels are generated per shape, and
  // only those beat libtorch's); float32 ones for any size.
  bool sized() const { return operands == memory::data_type::bf16; }
  // The product as its primitive is built: float32 sizes left to run time.
  ProductShape built() const {
    if (sized()) return *this;
    return {DNNL_RUNTIME_DIM_VAL, DNNL_RUNTIME_DIM_VAL, DNNL_RUNTIME_DIM_VAL, a_transposed, b_transposed, operands, out};
  }
  auto kind() const {
    const auto b = built();
    return std::tuple(b.m, b.k, b.n, a_transposed, b_transposed, operands, out);
  }
};

// The scratchpad is the caller's (user mode), so that one primitive may run on several
// threads at once (an encoding server's workers).
struct Primitive {
  dnnl::matmul matmul;
  int64_t scratchpad_bytes = 0;
  memory::desc weights;  // the layout its second operand must have (its own where asked for "any")
};

// A matmul primitive with a user scratchpad, or nothing where oneDNN has only its reference
// kernel for the operands (the caller then uses libtorch).
std::shared_ptr<const Primitive> build_matmul(const dnnl::engine& engine, const memory::desc& a, const memory::desc& b,
                                              const memory::desc& out) {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  try {
#if DNNL_VERSION_MAJOR >= 3
    const dnnl::matmul::primitive_desc pd(engine, a, b, out, attr);
#else
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, out), attr, engine);
#endif
    if (std::string(pd.impl_info_str()).find("ref") != std::string::npos) return nullptr;
    return std::make_shared<const Primitive>(
        Primitive{dnnl::matmul(pd), static_cast<int64_t>(pd.scratchpad_desc().get_size()), pd.weights_desc()});
  } catch (const dnnl::error&) {
    return nullptr;
  }
}

// Runs `primitive` on a, b and out with a scratchpad of its own.
void execute(const Primitive& primitive, const dnnl::engine& engine, memory a, memory b, memory out) {
  std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, std::move(a)}, {DNNL_ARG_WEIGHTS, std::move(b)}, {DNNL_ARG_DST, std::move(out)}};
  torch::Tensor scratchpad;
  if (primitive.scratchpad_bytes > 0) {
    scratchpad = torch::empty({primitive.scratchpad_bytes}, torch::kUInt8);
    args.emplace(DNNL_ARG_SCRATCHPAD,
                 memory({{primitive.scratchpad_bytes}, memory::data_type::u8, memory::format_tag::a}, engine, scratchpad.data_ptr()));
  }
  dnnl::stream stream(engine);
  primitive.matmul.execute(stream, args);
  stream.wait();
}

// The CPU engine every primitive is built for and runs on.
const dnnl::engine& cpu_engine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// Primitives built on first use, keyed by what fixes them, shared between threads; cleared
// when it holds 64, a bound for runs whose shapes vary (variable-length training rows). A null
// primitive (only the reference kernel) is kept too, so its caller goes to libtorch at once.
template <typename Key>
class PrimitiveCache {
 public:
  template <typename Build>
  std::shared_ptr<const Primitive> find(const Key& key, const Build& build) {
    std::lock_guard lock(mutex_);
    const auto found = primitives_.find(key);
    if (found != primitives_.end()) return found->second;
    if (primitives_.size() >= 64) primitives_.clear();
    return primitives_.emplace(key, build()).first->second;
  }

 private:
  std::mutex mutex_;
  std::map<Key, std::shared_ptr<const Primitive>> primitives_;
};

}  // namespace

// The packed weights of one DecodeProducts scope: each weight's copy in the layout of the
// primitive that reads it, made again when the weight has changed in place (its version).
struct DecodeProducts::Packs {
  struct Packed {
    std::vector<torch::Tensor> weights;  // held, so that their addresses cannot be reused while the scope lives
    std::vector<int64_t> versions;
    memory::desc layout;
    torch::Tensor bytes;
  };
  std::vector<Packed> packed;  // a model's few dozen weights: a linear search costs nothing

  // Inference tensors keep no version; they change only inside inference mode.
  static int64_t version(const torch::Tensor& t) { return t.is_inference() ? -1 : static_cast<int64_t>(t._version()); }

  // The weights [N_i, K] stacked ([sum N_i, K]), in `layout`.
  const torch::Tensor& find(const std::vector<torch::Tensor>& weights, const memory::desc& layout) {
    std::vector<int64_t> versions;
    for (const auto& w : weights) versions.push_back(version(w));
    auto found = std::find_if(packed.begin(), packed.end(), [&](const Packed& p) {
      return p.layout == layout && std::equal(p.weights.begin(), p.weights.end(), weights.begin(), weights.end(),
                                              [](const torch::Tensor& a, const torch::Tensor& b) {
                                                return a.unsafeGetTensorImpl() == b.unsafeGetTensorImpl();
                                              });
    });
    if (found != packed.end() && found->versions == versions) return found->bytes;
    const auto stacked = weights.size() == 1 ? weights.front().contiguous() : torch::cat(weights, 0);
    const memory::desc rows({stacked.size(1), stacked.size(0)}, memory::data_type::f32, memory::format_tag::ba);
    auto bytes = torch::empty({static_cast<int64_t>(layout.get_size())}, torch::kUInt8);
    memory from(rows, cpu_engine(), stacked.data_ptr()), to(layout, cpu_engine(), bytes.data_ptr());
    dnnl::stream stream(cpu_engine());
    dnnl::reorder(from, to).execute(stream, from, to);
    stream.wait();
    if (found == packed.end()) {
      // A bound for weights made afresh at every call (a caller's processor running products
      // of its own), which would otherwise pile up until the scope ends.
      if (packed.size() >= 256) packed.clear();
      packed.push_back({weights, std::move(versions), layout, std::move(bytes)});
      return packed.back().bytes;
    }
    found->versions = std::move(versions);
    found->bytes = std::move(bytes);
    return found->bytes;
  }
};

namespace {

// Set by DecodeProducts for the calling thread.
thread_local DecodeProducts::Packs* decode_packs = nullptr;

// The float32 product [M,K] x [K,N] -> [M,N] built for its exact sizes, its second operand in
// the layout the kernel picks (packed weights); null where oneDNN has only its reference kernel.
std::shared_ptr<const Primitive> sized_product(int64_t m, int64_t k, int64_t n) {
  static PrimitiveCache<std::tuple<int64_t, int64_t, int64_t>> primitives;
  return primitives.find({m, k, n}, [&] {
    return build_matmul(cpu_engine(), memory::desc({m, k}, memory::data_type::f32, memory::format_tag::ab),
                        memory::desc({k, n}, memory::data_type::f32, memory::format_tag::any),
                        memory::desc({m, n}, memory::data_type::f32, memory::format_tag::ab));
  });
}

// rows [M,K] times the weights [N_i,K] stacked, transposed: [M, sum N_i], for DecodeProducts:
// float32, built for this exact shape, the weights read from the scope's packed copy. Nothing
// where oneDNN has only its reference kernel.
std::optional<torch::Tensor> packed_product(const torch::Tensor& rows, const std::vector<torch::Tensor>& weights,
                                            DecodeProducts::Packs& packs) {
  const int64_t m = rows.size(0), k = rows.size(1);
  int64_t n = 0;
  for (const auto& w : weights) n += w.size(0);
  const memory::desc a({m, k}, memory::data_type::f32, memory::format_tag::ab);
  const memory::desc result({m, n}, memory::data_type::f32, memory::format_tag::ab);
  const auto primitive = sized_product(m, k, n);
  if (primitive == nullptr) return std::nullopt;
  const auto& packed = packs.find(weights, primitive->weights);
  auto out = torch::empty({m, n}, rows.options());
  execute(*primitive, cpu_engine(), memory(a, cpu_engine(), rows.data_ptr()), memory(primitive->weights, cpu_engine(), packed.data_ptr()),
          memory(result, cpu_engine(), out.data_ptr()));
  return out;
}

// op(a) op(b) in `out_type`; a and b contiguous matrices of one dtype (float32 or bf16).
torch::Tensor product(const torch::Tensor& a, bool a_transposed, const torch::Tensor& b, bool b_transposed,
                      torch::ScalarType out_type) {
  const ProductShape shape{a_transposed ? a.size(1) : a.size(0),     a_transposed ? a.size(0) : a.size(1),
                           b_transposed ? b.size(0) : b.size(1),     a_transposed,
                           b_transposed,                             onednn_type(a.scalar_type()),
                           onednn_type(out_type)};
  // Decoding (no gradients): a weight, not a product of the backward.
  if (decode_packs != nullptr && !torch::GradMode::is_enabled() && !a_transposed && b_transposed &&
      shape.operands == memory::data_type::f32 && shape.out == memory::data_type::f32)
    if (auto packed = packed_product(a, {b}, *decode_packs)) return *packed;
  // oneDNN primitives, built on first use: float32 ones with their sizes left to run time, one
  // per layout and dtype (primitives built for fixed sizes were no faster, but each holds
  // kernels generated for its shape: encoding, where every batch has its own row count, kept
  // hundreds of them and its peak memory went from 259 to 470-500 MB); bf16 ones per shape,
  // which only training asks for (onednn_operands), whose shapes repeat every step.
  static PrimitiveCache<decltype(shape.kind())> primitives;
  const auto primitive = primitives.find(shape.kind(), [&] {
    const auto built = shape.built();
    return build_matmul(cpu_engine(), built.a(), built.b(), built.result());
  });
  if (primitive == nullptr) return torch::mm(a_transposed ? a.t() : a, b_transposed ? b.t() : b).to(out_type);
  auto out = torch::empty({shape.m, shape.n}, torch::TensorOptions().dtype(out_type));
  execute(*primitive, cpu_engine(), memory(shape.a(), cpu_engine(), a.data_ptr()), memory(shape.b(), cpu_engine(), b.data_ptr()),
          memory(shape.result(), cpu_engine(), out.data_ptr()));
  return out;
}

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// x W_i^T for one or more weights sharing the input x, as one product with the weights stacked
// (apply_linears; one weight is the plain layer), returned as one output per weight; backward,
// one product for the input's gradient from the outputs' gradients side by side and one for
// the stacked weights' gradient, whose row blocks are each weight's. The products run in the
// dtype of `operands` (float32, or bf16 under autocast); the outputs in that dtype too, the
// gradients in their tensors' own.
class OnednnLinear : public torch::autograd::Function<OnednnLinear> {
 public:
  static variable_list forward(AutogradContext* ctx, const torch::Tensor& x, at::TensorList weights, int64_t operands) {
    const auto type = static_cast<torch::ScalarType>(operands);
    const auto rows = x.reshape({-1, x.size(-1)}).to(type).contiguous();                          // [M,K]
    const auto w = (weights.size() == 1 ? weights.front() : torch::cat(weights, 0)).to(type).contiguous();  // [sum N,K]
    ctx->save_for_backward({rows, w});
    std::vector<int64_t> widths;
    for (const auto& weight : weights) widths.push_back(weight.size(0));
    ctx->saved_data["widths"] = widths;
    ctx->saved_data["x_sizes"] = x.sizes().vec();
    ctx->saved_data["x_type"] = static_cast<int64_t>(x.scalar_type());
    ctx->saved_data["weight_type"] = static_cast<int64_t>(weights.front().scalar_type());
    const auto all = product(rows, false, w, true, type);  // [M, sum N]
    variable_list out;
    int64_t start = 0;
    for (const int64_t width : widths) {
      auto sizes = x.sizes().vec();
      sizes.back() = width;
      out.push_back((widths.size() == 1 ? all : all.narrow(1, start, width)).view(sizes));
      start += width;
    }
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto& rows = saved[0];
    const auto& w = saved[1];
    const auto widths = ctx->saved_data["widths"].toIntVector();
    std::vector<torch::Tensor> parts;
    for (size_t i = 0; i < widths.size(); ++i)  // an output not used has no gradient: zeros
      parts.push_back(grads[i].defined() ? grads[i].reshape({rows.size(0), widths[i]}).to(w.scalar_type())
                                         : torch::zeros({rows.size(0), widths[i]}, w.options()));
    const auto g = (parts.size() == 1 ? parts.front() : torch::cat(parts, 1)).contiguous();  // [M, sum N]
    variable_list out(widths.size() + 2);  // x, the weights, operands
    if (ctx->needs_input_grad(0)) {
      const auto type = static_cast<torch::ScalarType>(ctx->saved_data["x_type"].toInt());
      out[0] = product(g, false, w, false, type).view(ctx->saved_data["x_sizes"].toIntVector());
    }
    bool any_weight = false;
    for (size_t i = 0; i < widths.size(); ++i) any_weight = any_weight || ctx->needs_input_grad(i + 1);
    if (any_weight) {
      const auto type = static_cast<torch::ScalarType>(ctx->saved_data["weight_type"].toInt());
      const auto dw = product(g, true, rows, false, type);  // [sum N, K]
      int64_t start = 0;
      for (size_t i = 0; i < widths.size(); ++i) {
        out[i + 1] = dw.narrow(0, start, widths[i]);  // a block of rows: contiguous
        start += widths[i];
      }
    }
    return out;
  }
};

// A float32 tensor as oneDNN memory of its sizes and strides.
memory::desc strided_desc(const torch::Tensor& t) { return {t.sizes().vec(), memory::data_type::f32, t.strides().vec()}; }

// a x b -> [..., M, N] for float32 CPU tensors [..., M, K] and [..., K, N] of one batch shape,
// with any positive strides (attention's operands are transposed views: queries and keys
// [B,H,T,D] lie in memory as [B,T,H,D]); strides of 0 (broadcast) or below are made
// contiguous first. oneDNN's optimised kernels need the strides fixed when the primitive is
// built, so there is one per shape and layout; only training asks for them (batched_matmul),
// whose shapes repeat every step.
torch::Tensor batched_product(torch::Tensor a, torch::Tensor b) {
  for (auto* t : {&a, &b})
    if (std::any_of(t->strides().begin(), t->strides().end(), [](int64_t stride) { return stride <= 0; })) *t = t->contiguous();
  auto sizes = a.sizes().vec();
  sizes.back() = b.size(-1);
  auto out = torch::empty(sizes, a.options());
  std::vector<int64_t> key;
  for (const auto* t : {&a, &b}) {
    key.insert(key.end(), t->sizes().begin(), t->sizes().end());
    key.insert(key.end(), t->strides().begin(), t->strides().end());
  }
  static PrimitiveCache<std::vector<int64_t>> primitives;
  const auto primitive = primitives.find(key, [&] { return build_matmul(cpu_engine(), strided_desc(a), strided_desc(b), strided_desc(out)); });
  if (primitive == nullptr) return torch::matmul(a, b);
  execute(*primitive, cpu_engine(), memory(strided_desc(a), cpu_engine(), a.data_ptr()), memory(strided_desc(b), cpu_engine(), b.data_ptr()),
          memory(strided_desc(out), cpu_engine(), out.data_ptr()));
  return out;
}

class OnednnBatchedMatmul : public torch::autograd::Function<OnednnBatchedMatmul> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& a, const torch::Tensor& b) {
    ctx->save_for_backward({a, b});
    return batched_product(a, b);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &a = saved[0], &b = saved[1];
    torch::Tensor da, db;
    if (ctx->needs_input_grad(0)) da = batched_product(grads[0], b.transpose(-2, -1));
    if (ctx->needs_input_grad(1)) db = batched_product(a.transpose(-2, -1), grads[0]);
    return {da, db};
  }
};

bool cpu_has_bf16_instructions() {
  static const bool has = __builtin_cpu_supports("avx512bf16");
  return has;
}

bool float_or_bf16(const torch::Tensor& t) { return t.scalar_type() == torch::kFloat || t.scalar_type() == torch::kBFloat16; }

// The dtype the products run in, or nothing where oneDNN is not used.
std::optional<torch::ScalarType> onednn_operands(const torch::Tensor& x, const torch::Tensor& weight) {
  // Mismatched sizes go to libtorch too, whose error names them.
  if (!x.device().is_cpu() || !weight.device().is_cpu() || weight.dim() != 2 || x.dim() < 1 || x.numel() == 0 ||
      x.size(-1) != weight.size(1))
    return std::nullopt;
  if (at::autocast::is_cpu_enabled()) {
    // Under bf16 autocast only while training: inference, whose batch shapes vary, would build
    // a primitive per shape, and without a backward there is little to gain (libtorch reaches
    // the same oneDNN kernels).
    const bool training = torch::GradMode::is_enabled() && (x.requires_grad() || weight.requires_grad());
    if (!training || at::autocast::get_autocast_cpu_dtype() != at::kBFloat16 || !float_or_bf16(x) ||
        !float_or_bf16(weight) || !cpu_has_bf16_instructions())
      return std::nullopt;
    return torch::kBFloat16;
  }
  if (x.scalar_type() != torch::kFloat || weight.scalar_type() != torch::kFloat) return std::nullopt;
  // Below a few rows (one decoding step) the call's own cost outweighs the kernel.
  if (x.numel() / x.size(-1) < kOnednnMinimumRows) return std::nullopt;
  return torch::kFloat;
}

}  // namespace

struct PackedProduct::State {
  dnnl::matmul matmul;
  torch::Tensor packed;                 // the weights in the kernel's layout
  std::vector<uint8_t> scratchpad;
  memory a, out;                        // their buffers set at every run
  std::unordered_map<int, memory> args;
  dnnl::stream stream;
};

PackedProduct::PackedProduct(int64_t rows, const std::vector<torch::Tensor>& weights) {
  if (weights.empty() || rows < 1 || weights.front().dim() != 2) return;
  const int64_t k = weights.front().size(1);
  for (const auto& w : weights) {
    if (w.dim() != 2 || w.size(1) != k || w.scalar_type() != torch::kFloat || !w.device().is_cpu()) return;
    width_ += w.size(0);
  }
  const auto primitive = sized_product(rows, k, width_);
  if (primitive == nullptr) return;
  auto state = std::make_unique<State>();
  state->matmul = primitive->matmul;
  const auto stacked = weights.size() == 1 ? weights.front().contiguous() : torch::cat(weights, 0);
  const memory::desc layout = primitive->weights;
  state->packed = torch::empty({static_cast<int64_t>(layout.get_size())}, torch::kUInt8);
  const memory::desc plain({k, width_}, memory::data_type::f32, memory::format_tag::ba);
  memory from(plain, cpu_engine(), stacked.data_ptr()), to(layout, cpu_engine(), state->packed.data_ptr());
  state->stream = dnnl::stream(cpu_engine());
  dnnl::reorder(from, to).execute(state->stream, from, to);
  state->stream.wait();
  state->scratchpad.resize(static_cast<size_t>(primitive->scratchpad_bytes));
  state->a = memory({{rows, k}, memory::data_type::f32, memory::format_tag::ab}, cpu_engine(), nullptr);
  state->out = memory({{rows, width_}, memory::data_type::f32, memory::format_tag::ab}, cpu_engine(), nullptr);
  state->args = {{DNNL_ARG_SRC, state->a}, {DNNL_ARG_WEIGHTS, memory(layout, cpu_engine(), state->packed.data_ptr())},
                 {DNNL_ARG_DST, state->out}};
  if (!state->scratchpad.empty())
    state->args.emplace(DNNL_ARG_SCRATCHPAD, memory({{primitive->scratchpad_bytes}, memory::data_type::u8, memory::format_tag::a},
                                                    cpu_engine(), state->scratchpad.data()));
  state_ = std::move(state);
}

PackedProduct::~PackedProduct() = default;
PackedProduct::PackedProduct(PackedProduct&&) noexcept = default;
PackedProduct& PackedProduct::operator=(PackedProduct&&) noexcept = default;

void PackedProduct::run(const float* x, float* out) const {
  state_->a.set_data_handle(const_cast<float*>(x));
  state_->out.set_data_handle(out);
  state_->matmul.execute(state_->stream, state_->args);
  state_->stream.wait();
}

DecodeProducts::DecodeProducts() : packs_(std::make_unique<Packs>()), saved_(decode_packs) { decode_packs = packs_.get(); }

DecodeProducts::~DecodeProducts() { decode_packs = saved_; }

torch::Tensor batched_matmul(const torch::Tensor& a, const torch::Tensor& b) {
  const bool training = torch::GradMode::is_enabled() && (a.requires_grad() || b.requires_grad());
  const bool applies = training && !at::autocast::is_cpu_enabled() && a.device().is_cpu() && b.device().is_cpu() &&
                       a.scalar_type() == torch::kFloat && b.scalar_type() == torch::kFloat && a.dim() >= 3 &&
                       a.dim() == b.dim() && a.sizes().slice(0, a.dim() - 2) == b.sizes().slice(0, b.dim() - 2) &&
                       a.size(-1) == b.size(-2) && a.numel() > 0 && b.numel() > 0;
  if (!applies) return torch::matmul(a, b);
  return OnednnBatchedMatmul::apply(a, b);
}

bool onednn_linear_applies(const torch::Tensor& x, const torch::Tensor& weight) { return onednn_operands(x, weight).has_value(); }

std::vector<torch::Tensor> apply_linears(const torch::Tensor& x, const std::vector<torch::Tensor>& weights) {
  std::optional<torch::ScalarType> operands;
  if (!weights.empty()) operands = onednn_operands(x, weights.front());
  const bool training = torch::GradMode::is_enabled() &&
                        std::any_of(weights.begin(), weights.end(), [](const torch::Tensor& w) { return w.requires_grad(); });
  const bool stackable = std::all_of(weights.begin(), weights.end(), [&](const torch::Tensor& w) {
    return w.dim() == 2 && w.size(1) == weights.front().size(1) && w.scalar_type() == weights.front().scalar_type() &&
           w.device() == weights.front().device();
  });
  const bool decoding = decode_packs != nullptr && !torch::GradMode::is_enabled() && operands == torch::kFloat;
  if (decoding && stackable && weights.size() >= 2) {
    // One product of the weights packed side by side, for the outputs as views.
    const auto rows = x.reshape({-1, x.size(-1)}).contiguous();
    if (const auto all = packed_product(rows, weights, *decode_packs)) {
      std::vector<torch::Tensor> out;
      int64_t start = 0;
      for (const auto& w : weights) {
        auto sizes = x.sizes().vec();
        sizes.back() = w.size(0);
        out.push_back(all->narrow(1, start, w.size(0)).view(sizes));
        start += w.size(0);
      }
      return out;
    }
  }
  if (!operands || !training || !stackable || weights.size() < 2) {
    std::vector<torch::Tensor> out;
    for (const auto& w : weights) out.push_back(apply_linear(x, w));
    return out;
  }
  const AutocastOff plain;
  return OnednnLinear::apply(x, at::TensorList(weights), static_cast<int64_t>(*operands));
}

torch::Tensor apply_linear(const torch::Tensor& x, const torch::Tensor& weight) {
  const auto operands = onednn_operands(x, weight);
  if (!operands) return torch::nn::functional::linear(x, weight);
  const AutocastOff plain;  // the function's own casts and fallback products are explicit
  return OnednnLinear::apply(x, at::TensorList(weight), static_cast<int64_t>(*operands)).front();
}

}  // namespace garden::model
