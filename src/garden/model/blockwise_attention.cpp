#include "garden/model/blockwise_attention.h"

#include <fmt/core.h>

#include <limits>
#include <vector>

#include "garden/core/error.h"
#include "garden/model/autocast.h"

namespace garden::model {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Which tiles the mask leaves any key in (the others are skipped) and which it leaves whole
// (no masking needed), from two reductions over the whole mask rather than one per tile.
struct TileMap {
  int64_t rows = 0, cols = 0;
  std::vector<uint8_t> any, all;  // rows x cols
  bool visit(int64_t i, int64_t j) const { return any[static_cast<size_t>(i * cols + j)] != 0; }
  bool whole(int64_t i, int64_t j) const { return all[static_cast<size_t>(i * cols + j)] != 0; }
};

TileMap tile_map(const torch::Tensor& allowed, int64_t t, int64_t s, int64_t bq, int64_t bk) {
  TileMap map;
  map.rows = (t + bq - 1) / bq;
  map.cols = (s + bk - 1) / bk;
  const auto tiles = static_cast<size_t>(map.rows * map.cols);
  if (allowed.numel() == 0) {
    map.any.assign(tiles, 1);
    map.all.assign(tiles, 1);
    return map;
  }
  const auto per_key = allowed.to(torch::kUInt8).reshape({-1, t, s});  // [B,T,S]
  const auto reduce = [&](const torch::Tensor& over_batch, int64_t pad_value, bool any) {
    auto padded = torch::constant_pad_nd(over_batch, {0, map.cols * bk - s, 0, map.rows * bq - t}, pad_value)
                      .view({map.rows, bq, map.cols, bk});
    auto per_tile = (any ? padded.amax({1, 3}) : padded.amin({1, 3})).contiguous().cpu();
    const auto* data = per_tile.data_ptr<uint8_t>();
    return std::vector<uint8_t>(data, data + tiles);
  };
  map.any = reduce(per_key.amax(0), 0, true);
  map.all = reduce(per_key.amin(0), 1, false);
  return map;
}

// Under autocast the products run in its dtype, as the explicit path's matmuls would (the
// queries may have come out of RoPE in float32 all the same); otherwise in the inputs' dtype.
c10::ScalarType product_dtype(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
  if (q.is_cuda() ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled())
    return q.is_cuda() ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
  return at::promote_types(q.scalar_type(), at::promote_types(k.scalar_type(), v.scalar_type()));
}

// float32 at least (bf16 has too few bits to sum exponentials in), float64 for float64.
c10::ScalarType statistics_dtype(c10::ScalarType products) { return at::promote_types(products, at::kFloat); }

torch::Tensor tile_mask(const torch::Tensor& allowed, int64_t i0, int64_t n, int64_t j0, int64_t w) {
  return allowed.narrow(2, i0, n).narrow(3, j0, w).logical_not();
}

class BlockwiseAttention : public torch::autograd::Function<BlockwiseAttention> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                               const torch::Tensor& allowed, double scale, int64_t bq, int64_t bk) {
    const auto dtype = product_dtype(q, k, v), stats = statistics_dtype(dtype);
    // The function picks each product's dtype itself; autocast would otherwise recast the tiles.
    AutocastOff autocast_off;
    const int64_t t = q.size(2), s = k.size(2);
    // The scale goes into the queries once rather than into every tile of scores.
    const auto scaled = (q.to(dtype) * scale).contiguous(), keys = k.to(dtype).contiguous(), values = v.to(dtype).contiguous();
    const auto map = tile_map(allowed, t, s, bq, bk);
    const auto wide = q.options().dtype(stats);
    auto out = torch::empty(q.sizes(), q.options().dtype(dtype));
    auto log_sum_exp = torch::empty({q.size(0), q.size(1), t, 1}, wide);
    for (int64_t i = 0; i < map.rows; ++i) {
      const int64_t i0 = i * bq, n = std::min(bq, t - i0);
      const auto queries = scaled.narrow(2, i0, n);
      torch::Tensor shift, sum, acc;  // per row: running maximum, sum of exponentials, weighted values
      for (int64_t j = 0; j < map.cols; ++j) {
        if (!map.visit(i, j)) continue;
        const int64_t j0 = j * bk, w = std::min(bk, s - j0);
        auto scores = torch::matmul(queries, keys.narrow(2, j0, w).transpose(2, 3)).to(stats);  // [B,H,n,w]
        if (!map.whole(i, j)) scores.masked_fill_(tile_mask(allowed, i0, n, j0, w), -std::numeric_limits<float>::infinity());
        auto tile_max = scores.amax(-1, /*keepdim=*/true);
        // A row with no key allowed yet has maximum -inf; shifting it by the lowest float
        // instead keeps exp(-inf - -inf) from turning into NaN (its exponentials are all 0).
        auto new_shift = (shift.defined() ? torch::maximum(shift, tile_max) : tile_max).clamp_min(std::numeric_limits<float>::lowest());
        auto p = scores.sub_(new_shift).exp_();
        auto weighted = torch::matmul(p.to(dtype), values.narrow(2, j0, w)).to(stats);  // [B,H,n,D]
        if (!shift.defined()) {
          sum = p.sum(-1, /*keepdim=*/true);
          acc = weighted;
        } else {
          const auto correction = (shift - new_shift).exp_();
          sum = sum.mul_(correction).add_(p.sum(-1, /*keepdim=*/true));
          acc = acc.mul_(correction).add_(weighted);
        }
        shift = new_shift;
      }
      if (!shift.defined() || (sum == 0).any().item<bool>())
        throw Error(fmt::format("blockwise attention: a query among {}..{} may attend to no key", i0, i0 + n - 1));
      out.narrow(2, i0, n).copy_(acc / sum);
      log_sum_exp.narrow(2, i0, n).copy_(shift + sum.log());
    }
    ctx->save_for_backward({scaled, keys, values, out, log_sum_exp, allowed});
    ctx->saved_data["scale"] = scale;
    ctx->saved_data["bq"] = bq;
    ctx->saved_data["bk"] = bk;
    // The tile map is kept rather than recomputed from the mask (two reductions over [B,T,S]).
    ctx->saved_data["tiles_any"] = std::vector<int64_t>(map.any.begin(), map.any.end());
    ctx->saved_data["tiles_all"] = std::vector<int64_t>(map.all.begin(), map.all.end());
    ctx->saved_data["dtypes"] = std::vector<int64_t>{static_cast<int64_t>(q.scalar_type()), static_cast<int64_t>(k.scalar_type()),
                                                     static_cast<int64_t>(v.scalar_type())};
    return out.to(q.scalar_type());
  }

  // With P = exp(S - lse) recomputed per tile and delta = rowsum(dO * O):
  // dV = P^T dO, dS = P * (dO V^T - delta), dQ = scale * dS K, dK = dS^T (scale * Q).
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    AutocastOff autocast_off;  // whatever autocast state the caller of backward left
    const auto saved = ctx->get_saved_variables();
    const auto &scaled = saved[0], &keys = saved[1], &values = saved[2], &out = saved[3], &log_sum_exp = saved[4], &allowed = saved[5];
    const double scale = ctx->saved_data["scale"].toDouble();
    const int64_t bq = ctx->saved_data["bq"].toInt(), bk = ctx->saved_data["bk"].toInt();
    const auto dtypes = ctx->saved_data["dtypes"].toIntVector();
    const auto dtype = scaled.scalar_type(), stats = statistics_dtype(dtype);
    const int64_t t = scaled.size(2), s = keys.size(2);
    TileMap map;
    map.rows = (t + bq - 1) / bq;
    map.cols = (s + bk - 1) / bk;
    for (const auto flag : ctx->saved_data["tiles_any"].toIntVector()) map.any.push_back(static_cast<uint8_t>(flag));
    for (const auto flag : ctx->saved_data["tiles_all"].toIntVector()) map.all.push_back(static_cast<uint8_t>(flag));
    const auto grad_out = grads[0].to(dtype).contiguous();
    const auto delta = (grad_out.to(stats) * out.to(stats)).sum(-1, /*keepdim=*/true);  // [B,H,T,1]
    const auto wide = scaled.options().dtype(stats);
    auto dq = torch::zeros(scaled.sizes(), wide), dk = torch::zeros(keys.sizes(), wide), dv = torch::zeros(values.sizes(), wide);
    for (int64_t i = 0; i < map.rows; ++i) {
      const int64_t i0 = i * bq, n = std::min(bq, t - i0);
      const auto queries = scaled.narrow(2, i0, n), grad_rows = grad_out.narrow(2, i0, n);
      const auto row_lse = log_sum_exp.narrow(2, i0, n), row_delta = delta.narrow(2, i0, n);
      auto dq_rows = dq.narrow(2, i0, n);
      for (int64_t j = 0; j < map.cols; ++j) {
        if (!map.visit(i, j)) continue;
        const int64_t j0 = j * bk, w = std::min(bk, s - j0);
        const auto tile_keys = keys.narrow(2, j0, w), tile_values = values.narrow(2, j0, w);
        auto scores = torch::matmul(queries, tile_keys.transpose(2, 3)).to(stats);
        if (!map.whole(i, j)) scores.masked_fill_(tile_mask(allowed, i0, n, j0, w), -std::numeric_limits<float>::infinity());
        const auto p = scores.sub_(row_lse).exp_();  // [B,H,n,w]
        dv.narrow(2, j0, w).add_(torch::matmul(p.to(dtype).transpose(2, 3), grad_rows));
        auto d_scores = torch::matmul(grad_rows, tile_values.transpose(2, 3)).to(stats).sub_(row_delta).mul_(p).to(dtype);
        dq_rows.add_(torch::matmul(d_scores, tile_keys));
        dk.narrow(2, j0, w).add_(torch::matmul(d_scores.transpose(2, 3), queries));
      }
    }
    const auto as = [&](torch::Tensor g, size_t input) { return g.to(static_cast<c10::ScalarType>(dtypes[input])); };
    return {as(dq.mul_(scale), 0), as(dk, 1), as(dv, 2), torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor blockwise_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                  const torch::Tensor& allowed, double scale, AttentionTiles tiles) {
  if (q.dim() != 4 || k.dim() != 4 || v.dim() != 4)
    throw Error("blockwise attention: q, k and v must be [batch, heads, length, head_dim]");
  if (k.sizes() != v.sizes() || q.size(0) != k.size(0) || q.size(1) != k.size(1) || q.size(3) != k.size(3))
    throw Error(fmt::format("blockwise attention: q {} does not fit k {} and v {}", c10::str(q.sizes()), c10::str(k.sizes()),
                            c10::str(v.sizes())));
  if (allowed.defined() && (allowed.dim() != 4 || allowed.size(2) != q.size(2) || allowed.size(3) != k.size(2)))
    throw Error(fmt::format("blockwise attention: mask {} does not fit {} queries and {} keys", c10::str(allowed.sizes()), q.size(2),
                            k.size(2)));
  if (tiles.queries < 1 || tiles.keys < 1) throw Error("blockwise attention: tiles must be at least 1 x 1");
  // Autograd records the device of every tensor argument, so "no mask" travels as an empty one.
  const auto mask = allowed.defined() ? allowed : torch::empty({0}, q.options().dtype(torch::kBool));
  return BlockwiseAttention::apply(q, k, v, mask, scale, tiles.queries, tiles.keys);
}

}  // namespace garden::model
