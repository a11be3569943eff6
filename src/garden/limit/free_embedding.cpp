#include "garden/limit/free_embedding.h"

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/core.h>

#include <chrono>
#include <cmath>

#include "garden/core/error.h"

namespace garden::limit {

torch::Tensor all_pairs(int64_t n) {
  if (n < 2) throw Error(fmt::format("all pairs of {} documents: need at least 2", n));
  std::vector<int64_t> flat;
  flat.reserve(static_cast<size_t>(n * (n - 1)));
  for (int64_t a = 0; a < n; ++a)
    for (int64_t b = a + 1; b < n; ++b) {
      flat.push_back(a);
      flat.push_back(b);
    }
  return torch::tensor(flat, torch::kLong).view({-1, 2});
}

namespace {

void check_problem(const torch::Tensor& queries, const torch::Tensor& docs, const torch::Tensor& positives) {
  if (queries.dim() != 2 || docs.dim() != 2 || queries.size(1) != docs.size(1))
    throw Error(fmt::format("free embeddings: queries and documents must be matrices of one width ({} and {} dims)",
                            queries.dim() == 2 ? queries.size(1) : -1, docs.dim() == 2 ? docs.size(1) : -1));
  if (positives.dim() != 2 || positives.size(0) != queries.size(0) || positives.size(1) < 1)
    throw Error(fmt::format("free embeddings: the positives need one row per query ({} rows for {} queries)",
                            positives.dim() == 2 ? positives.size(0) : -1, queries.size(0)));
  if (positives.numel() > 0 && (positives.min().item<int64_t>() < 0 || positives.max().item<int64_t>() >= docs.size(0)))
    throw Error(fmt::format("free embeddings: a positive is outside the {} documents", docs.size(0)));
}

}  // namespace

InfoNceValue per_positive_infonce(const torch::Tensor& queries, const torch::Tensor& docs, const torch::Tensor& positives,
                                  double temperature, int64_t chunk) {
  check_problem(queries, docs, positives);
  torch::NoGradGuard no_grad;
  const int64_t m = queries.size(0), k = positives.size(1);
  const double total_positives = static_cast<double>(m * k);
  InfoNceValue out;
  out.grad_queries = torch::zeros_like(queries);
  out.grad_docs = torch::zeros_like(docs);
  const auto positives_on = positives.to(queries.device());
  double loss = 0;
  for (int64_t start = 0; start < m; start += chunk) {
    const int64_t rows = std::min(chunk, m - start);
    const auto u = queries.narrow(0, start, rows);
    const auto p = positives_on.narrow(0, start, rows);
    const auto logits = u.mm(docs.t()) / temperature;
    const auto lse = logits.logsumexp(1, true);
    loss += (k * lse.sum() - logits.gather(1, p).sum()).item<double>();
    // d loss / d logits = (k softmax - [j positive]) / P; the logits carry 1/tau.
    auto g = (logits - lse).exp_().mul_(static_cast<double>(k));
    g.scatter_add_(1, p, torch::full({rows, k}, -1.0, g.options()));
    g.div_(total_positives * temperature);
    out.grad_queries.narrow(0, start, rows).copy_(g.mm(docs));
    out.grad_docs.add_(g.t().mm(u));
  }
  out.loss = loss / total_positives;
  return out;
}

namespace {

// Hits: relevant documents among each query's top-k, ties to the lower index (argmax
// returns the first maximum).
int64_t topk_hits(const torch::Tensor& queries, const torch::Tensor& docs, const torch::Tensor& positives, int64_t chunk) {
  check_problem(queries, docs, positives);
  torch::NoGradGuard no_grad;
  const int64_t m = queries.size(0), k = positives.size(1);
  const auto positives_on = positives.to(queries.device());
  int64_t hits = 0;
  for (int64_t start = 0; start < m; start += chunk) {
    const int64_t rows = std::min(chunk, m - start);
    auto scores = queries.narrow(0, start, rows).mm(docs.t());
    const auto p = positives_on.narrow(0, start, rows);
    for (int64_t r = 0; r < k; ++r) {
      const auto best = scores.argmax(1, true);
      hits += p.eq(best).any(1).sum().item<int64_t>();
      scores.scatter_(1, best, -std::numeric_limits<double>::infinity());
    }
  }
  return hits;
}

}  // namespace

double topk_accuracy(const torch::Tensor& queries, const torch::Tensor& docs, const torch::Tensor& positives, int64_t chunk) {
  return static_cast<double>(topk_hits(queries, docs, positives, chunk)) / static_cast<double>(positives.numel());
}

int64_t query_chunk_for(int64_t docs, torch::Dtype dtype) {
  constexpr int64_t block_bytes = int64_t{16} << 20;
  return std::max<int64_t>(1, block_bytes / (std::max<int64_t>(docs, 1) * static_cast<int64_t>(c10::elementSize(dtype))));
}

bool EarlyStopping::update(double loss) {
  if (loss < best_ - min_delta_) {
    best_ = loss;
    waited_ = 0;
    return false;
  }
  return ++waited_ >= patience_;
}

namespace {

// Below about 4M logits per step, libtorch's fork/join across threads costs more than it
// saves (measured: d=20, n=119 runs 1.2x faster on one thread; d=30, n=250 1.3x faster on
// two), so small problems run on one thread and the setting is restored afterwards.
class SmallProblemThreads {
 public:
  explicit SmallProblemThreads(int64_t logits) : saved_(at::get_num_threads()) {
    if (logits < (int64_t{1} << 22)) at::set_num_threads(1);
  }
  ~SmallProblemThreads() { at::set_num_threads(saved_); }
  SmallProblemThreads(const SmallProblemThreads&) = delete;
  SmallProblemThreads& operator=(const SmallProblemThreads&) = delete;

 private:
  int saved_;
};

}  // namespace

FreeEmbeddingResult optimise_free_embeddings(int64_t docs, const torch::Tensor& positives, const FreeEmbeddingOptions& o) {
  if (o.dims < 1) usage_error(fmt::format("--d must be at least 1, not {}", o.dims));
  if (docs <= positives.size(1)) usage_error(fmt::format("free embeddings need more documents ({}) than positives per query ({})", docs, positives.size(1)));
  const auto started = std::chrono::steady_clock::now();
  const int64_t m = positives.size(0);
  const SmallProblemThreads threads(o.device.is_cpu() ? m * docs : int64_t{1} << 40);
  // Initial vectors: i.i.d. N(0,1) from the seed (queries first, then documents), unit rows.
  auto generator = at::make_generator<at::CPUGeneratorImpl>(o.seed);
  auto init = [&](int64_t rows) {
    auto x = torch::randn({rows, o.dims}, generator, torch::kFloat64).to(o.dtype).to(o.device);
    return x.div_(x.norm(2, 1, true)).requires_grad_(true);
  };
  torch::Tensor u = init(m), v = init(docs);
  torch::optim::Adam adam({u, v}, torch::optim::AdamOptions(o.lr).betas({0.9, 0.999}).eps(1e-8));
  EarlyStopping stopper(o.patience, o.min_delta);
  FreeEmbeddingResult result;
  result.stopped_by = "max iterations";
  const int64_t all_hits = positives.numel();
  const int64_t chunk = o.query_chunk > 0 ? o.query_chunk : query_chunk_for(docs, o.dtype);
  for (int64_t it = 0; it < o.max_iterations; ++it) {
    const InfoNceValue value = per_positive_infonce(u.detach(), v.detach(), positives, o.temperature, chunk);
    if (!std::isfinite(value.loss))
      throw Error(fmt::format("free embeddings: the loss is not finite at iteration {} (d={}, n={})", it, o.dims, docs));
    u.mutable_grad() = value.grad_queries;
    v.mutable_grad() = value.grad_docs;
    adam.step();
    {
      torch::NoGradGuard no_grad;
      u.div_(u.norm(2, 1, true));
      v.div_(v.norm(2, 1, true));
    }
    result.iterations = it + 1;
    result.final_loss = value.loss;
    if ((it + 1) % o.eval_every == 0) {
      const int64_t hits = topk_hits(u.detach(), v.detach(), positives, chunk);
      result.best_accuracy = std::max(result.best_accuracy, static_cast<double>(hits) / static_cast<double>(all_hits));
      if (hits == all_hits) {
        result.success = true;
        result.stopped_by = "solved";
        break;
      }
    }
    if (stopper.update(value.loss)) {
      result.stopped_by = "early stopping";
      break;
    }
  }
  result.queries = u.detach();
  result.docs = v.detach();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

CriticalNSearch find_critical_n(const std::function<bool(int64_t)>& succeeds, int64_t n0, int64_t min_n, bool record) {
  CriticalNSearch search;
  std::map<int64_t, bool> cache;
  auto test = [&](int64_t n) {
    const auto hit = cache.find(n);
    if (hit != cache.end()) return hit->second;
    const bool ok = succeeds(n);
    cache[n] = ok;
    search.trials.emplace_back(n, ok);
    return ok;
  };
  int64_t current = std::max(n0, min_n), step = 1;
  int64_t lo, hi;  // lo succeeds (or is below min_n), hi fails
  if (test(current)) {
    lo = current;
    while (true) {
      const int64_t next = current + step;
      if (!test(next)) {
        hi = next;
        break;
      }
      lo = current = next;
      step *= 2;
    }
  } else {
    hi = current;
    while (true) {
      const int64_t next = current - step;
      if (next < min_n) {
        lo = min_n - 1;
        break;
      }
      if (test(next)) {
        lo = next;
        break;
      }
      hi = current = next;
      step *= 2;
    }
  }
  while (hi - lo > 1) {
    const int64_t mid = lo + (hi - lo) / 2;
    (test(mid) ? lo : hi) = mid;
  }
  search.critical_n = lo;
  if (record)
    for (int64_t n = lo - 4; n <= lo + 5; ++n)
      if (n >= min_n) test(n);
  return search;
}

Json CriticalNResult::to_json() const {
  Json log = Json::array();
  for (const NTrial& t : trials)
    log.push_back({{"n", t.n},
                   {"success", t.success},
                   {"best_accuracy", t.best_accuracy},
                   {"final_loss", t.final_loss},
                   {"iterations", t.iterations},
                   {"stopped_by", t.stopped_by},
                   {"seconds", t.seconds}});
  return {{"d", dims}, {"n0", n0}, {"critical_n", critical_n}, {"seconds", seconds}, {"trials", log}};
}

CriticalNResult CriticalNResult::from_json(const Json& json) {
  CriticalNResult r;
  r.dims = json.at("d").get<int64_t>();
  r.n0 = json.at("n0").get<int64_t>();
  r.critical_n = json.at("critical_n").get<int64_t>();
  r.seconds = json.at("seconds").get<double>();
  for (const Json& t : json.at("trials"))
    r.trials.push_back({t.at("n").get<int64_t>(), t.at("success").get<bool>(), t.at("best_accuracy").get<double>(),
                        t.at("final_loss").get<double>(), t.at("seconds").get<double>(), t.at("iterations").get<int64_t>(),
                        t.at("stopped_by").get<std::string>()});
  return r;
}

CriticalNResult critical_n_for_dims(int64_t dims, int64_t n0, bool record, const FreeEmbeddingOptions& options,
                                    const std::function<void(const NTrial&)>& on_trial) {
  const auto started = std::chrono::steady_clock::now();
  CriticalNResult result;
  result.dims = dims;
  result.n0 = n0 > 0 ? n0 : std::max<int64_t>(3, std::llround(paper_critical_n(static_cast<double>(dims))));
  FreeEmbeddingOptions o = options;
  o.dims = dims;
  const auto search = find_critical_n(
      [&](int64_t n) {
        const FreeEmbeddingResult r = optimise_free_embeddings(n, all_pairs(n), o);
        NTrial trial{n, r.success, r.best_accuracy, r.final_loss, r.seconds, r.iterations, r.stopped_by};
        result.trials.push_back(trial);
        if (on_trial) on_trial(trial);
        return r.success;
      },
      result.n0, 3, record);
  result.critical_n = search.critical_n;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

double paper_critical_n(double d) { return -10.5322 + 4.0309 * d + 0.0520 * d * d + 0.0037 * d * d * d; }

double CubicFit::at(double d) const {
  return coefficients[0] + coefficients[1] * d + coefficients[2] * d * d + coefficients[3] * d * d * d;
}

CubicFit fit_cubic(const std::vector<double>& d, const std::vector<double>& critical_n) {
  if (d.size() != critical_n.size() || d.size() < 4)
    throw Error(fmt::format("cubic fit: need at least 4 (d, critical-n) points, got {}", std::min(d.size(), critical_n.size())));
  const int64_t count = static_cast<int64_t>(d.size());
  auto design = torch::empty({count, 4}, torch::kFloat64);
  auto target = torch::tensor(critical_n, torch::kFloat64).view({count, 1});
  for (int64_t i = 0; i < count; ++i)
    for (int64_t p = 0; p < 4; ++p) design[i][p] = std::pow(d[static_cast<size_t>(i)], static_cast<double>(p));
  const auto solution = std::get<0>(torch::linalg_lstsq(design, target)).view({4});
  CubicFit fit;
  for (int p = 0; p < 4; ++p) fit.coefficients[p] = solution[p].item<double>();
  double mean = 0, residual = 0, total = 0;
  for (double y : critical_n) mean += y / static_cast<double>(count);
  for (size_t i = 0; i < d.size(); ++i) {
    residual += std::pow(critical_n[i] - fit.at(d[i]), 2);
    total += std::pow(critical_n[i] - mean, 2);
  }
  fit.r2 = total > 0 ? 1 - residual / total : 1;
  return fit;
}

MomentCurveCheck check_moment_curve(int64_t n, torch::Dtype dtype, int64_t chunk) {
  if (n < 3) usage_error(fmt::format("--n must be at least 3, not {}", n));
  torch::NoGradGuard no_grad;
  const auto options = torch::TensorOptions().dtype(dtype);
  const auto theta = torch::arange(n, options).mul_(2 * M_PI / static_cast<double>(n));
  const auto docs = torch::stack({theta.cos(), theta.sin(), (2 * theta).cos(), (2 * theta).sin()}, 1).div_(std::sqrt(2.0));
  const auto pairs = all_pairs(n);
  const auto a = theta.index_select(0, pairs.select(1, 0)), b = theta.index_select(0, pairs.select(1, 1));
  // score(t) = cos(t - a) + cos(t - b) - cos(2t - a - b) / 2 = const - (1 - cos(t-a))(1 - cos(t-b))
  const auto queries =
      torch::stack({a.cos() + b.cos(), a.sin() + b.sin(), -0.5 * (a + b).cos(), -0.5 * (a + b).sin()}, 1).mul_(std::sqrt(2.0));
  MomentCurveCheck check;
  check.n = n;
  check.accuracy = topk_accuracy(queries, docs, pairs, chunk);
  double min_margin = std::numeric_limits<double>::infinity();
  for (int64_t start = 0; start < pairs.size(0); start += chunk) {
    const int64_t rows = std::min(chunk, pairs.size(0) - start);
    auto scores = queries.narrow(0, start, rows).mm(docs.t());
    const auto p = pairs.narrow(0, start, rows);
    const auto weakest_positive = std::get<0>(scores.gather(1, p).min(1));
    scores.scatter_(1, p, -std::numeric_limits<double>::infinity());
    const auto margin = weakest_positive - std::get<0>(scores.max(1));
    min_margin = std::min(min_margin, margin.min().item<double>());
    check.failed_queries += margin.le(0).sum().item<int64_t>();
  }
  check.min_margin = min_margin;
  return check;
}

}  // namespace garden::limit
