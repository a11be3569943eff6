// Reproduction of "On the Theoretical Limitations of Embedding-Based Retrieval" (Weller,
// Boratko, Naim, Lee, ICLR 2026, arXiv:2508.21038), parts A and B of the small-scale plan in
// ../papers/limit.md: the critical n of free embeddings against d (with the cubic fit), and
// qrel-pattern density on LIMIT-style data (BM25 vs free embeddings). It also evaluates the
// published LIMIT-small (data root) and a generated 50k-document LIMIT, and checks the
// moment-curve construction that realises every top-2 set in d = 4.
#include <fmt/core.h>
#include <unistd.h>

#include <cmath>

#include "garden/core/data_root.h"
#include "garden/eval/limit_eval.h"
#include "garden/repro/reproduction.h"
#include "garden/retrieval/free_embedding.h"
#include "garden/retrieval/limit_data.h"

namespace garden::repro {

namespace {

using namespace garden::retrieval;

// The spec's reference column: an independent float32 CPU run of the released procedure.
const std::map<int64_t, int64_t> kReferenceCriticalN = {{4, 9},   {5, 13},  {6, 19},  {7, 25},  {8, 28},  {9, 33},
                                                        {10, 38}, {11, 43}, {12, 51}, {14, 64}, {16, 80}, {18, 98},
                                                        {20, 119}, {24, 164}};

std::string recall_cell(const eval::LimitEvalRow& row, int64_t k) {
  const auto it = row.recall.find(k);
  return it == row.recall.end() ? "-" : fmt::format("{:.3f}", it->second);
}

const eval::LimitEvalRow* find_row(const std::vector<eval::LimitEvalRow>& rows, const std::string& name) {
  for (const auto& r : rows)
    if (r.retriever == name) return &r;
  return nullptr;
}

}  // namespace

Result run_limit(const Context& ctx) {
  const bool quick = ctx.scale == "quick";
  Result result;
  FreeEmbeddingOptions free;
  free.seed = 42;
  free.device = ctx.device;

  // ---- A: critical n against d -----------------------------------------------------------
  const int64_t d_max = quick ? 16 : 24;
  Table critical{"A. Critical n of free embeddings (all pairs, k = 2, float32, seed 42) against d",
                 {"d", "critical n", "paper fit", "within 15% of fit", "reference run", "n evaluated", "seconds"},
                 {}};
  std::vector<double> ds, ns;
  Json critical_json = Json::array();
  double critical_seconds = 0;
  for (int64_t d = 4; d <= d_max; ++d) {
    if (!ctx.quiet) fmt::print(stderr, "critical n, d={}...\n", d);
    const CriticalNResult r = critical_n_for_dims(d, 0, !quick, free);
    critical_seconds += r.seconds;
    const double fit = paper_critical_n(static_cast<double>(d));
    const bool within = std::abs(static_cast<double>(r.critical_n) - fit) <= 0.15 * fit;
    const auto ref = kReferenceCriticalN.find(d);
    critical.rows.push_back({std::to_string(d), std::to_string(r.critical_n), fmt::format("{:.1f}", fit),
                             within ? "yes" : "no", ref == kReferenceCriticalN.end() ? "-" : std::to_string(ref->second),
                             std::to_string(r.trials.size()), fmt::format("{:.1f}", r.seconds)});
    ds.push_back(static_cast<double>(d));
    ns.push_back(static_cast<double>(r.critical_n));
    critical_json.push_back(r.to_json());
  }
  const CubicFit fit = fit_cubic(ds, ns);
  Table extrapolation{"Cubic fit extrapolated (garden's fit over the d above vs the paper's fit over d <= ~45)",
                      {"d", "garden fit", "paper fit"},
                      {}};
  const std::vector<double> extrapolated_dims{512.0, 768.0, 1024.0, 3072.0, 4096.0};
  for (double d : extrapolated_dims)
    extrapolation.rows.push_back({fmt::format("{:.0f}", d), fmt::format("{:.0f}", fit.at(d)),
                                  fmt::format("{:.0f}", paper_critical_n(d))});

  // ---- B: qrel-pattern density -----------------------------------------------------------
  const auto work = ctx.out / "collections";
  std::filesystem::create_directories(work);
  Table patterns{"B. Qrel patterns, 1000 queries, k = 2: recall@2 / recall@10",
                 {"pattern", "documents", "BM25", "free d=8", "free d=16", "hashed BoW d=512", "free d=8 top-2 accuracy"},
                 {}};
  std::map<std::string, std::vector<eval::LimitEvalRow>> by_pattern;
  for (QrelPattern pattern : {QrelPattern::dense, QrelPattern::cycle, QrelPattern::random, QrelPattern::disjoint}) {
    if (!ctx.quiet) fmt::print(stderr, "pattern {}:\n", to_string(pattern));
    LimitDataOptions o;
    o.pattern = pattern;
    o.queries = 1000;
    o.seed = ctx.seed;
    const Collection c = generate_limit_collection(o);
    const auto dir = work / to_string(pattern);
    write_beir_collection(c, dir);
    eval::LimitEvalOptions eo;
    eo.ks = {2, 10};
    eo.free = free;
    eo.quiet = ctx.quiet;
    const auto rows = eval::evaluate_limit(c, dir, eo);
    by_pattern[to_string(pattern)] = rows;
    auto both = [&](const std::string& name) {
      const auto* r = find_row(rows, name);
      return r ? recall_cell(*r, 2) + " / " + recall_cell(*r, 10) : std::string("-");
    };
    patterns.rows.push_back({to_string(pattern), std::to_string(c.corpus.size()), both("BM25"), both("free embeddings d=8"),
                             both("free embeddings d=16"), both("hashed bag of words d=512"),
                             find_row(rows, "free embeddings d=8")->note});
  }

  // ---- LIMIT-small (published) and a generated 50k-document LIMIT ------------------------
  Table limit_table{"LIMIT: recall@k (paper figures in brackets)", {"data", "retriever", "recall@2", "recall@10", "recall@20", "recall@100"}, {}};
  std::string data_note = "generated LIMIT-style collections (WordNet noun attributes, seeded syllable names)";
  if (auto small = find_collection(ctx.data_root, "limit-small")) {
    if (!ctx.quiet) fmt::print(stderr, "LIMIT-small (published):\n");
    eval::LimitEvalOptions eo;
    eo.free = free;
    eo.quiet = ctx.quiet;
    const Collection c = read_beir_collection(*small);
    for (const auto& row : eval::evaluate_limit(c, *small, eo)) {
      std::string name = row.retriever;
      if (name == "BM25") name += " [97.8 / 100 / 100]";
      limit_table.rows.push_back({"LIMIT-small (published, 46 docs)", name, recall_cell(row, 2), recall_cell(row, 10),
                                  recall_cell(row, 20), recall_cell(row, 100)});
    }
    limit_table.rows.push_back({"LIMIT-small (paper)", "best single-vector model, GritLM-7B", "0.384", "0.754", "0.905", "-"});
    data_note += "; the published LIMIT-small from the data root (" + small->string() + ")";
  } else {
    data_note += "; LIMIT-small not found under the data root, so it is not evaluated";
  }
  {
    if (!ctx.quiet) fmt::print(stderr, "generated LIMIT, 50,000 documents:\n");
    LimitDataOptions o;
    o.queries = 1000;
    o.docs = 50000;
    o.seed = ctx.seed;
    const Collection c = generate_limit_collection(o);
    const auto dir = work / "limit-50k";
    write_beir_collection(c, dir);
    eval::LimitEvalOptions eo;
    eo.free = free;
    eo.free_dims = quick ? std::vector<int64_t>{} : std::vector<int64_t>{8, 16};
    eo.quiet = ctx.quiet;
    for (const auto& row : eval::evaluate_limit(c, dir, eo)) {
      std::string name = row.retriever;
      if (name == "BM25") name += " [recall@100 0.936]";
      limit_table.rows.push_back({"generated LIMIT (50k docs)", name, recall_cell(row, 2), recall_cell(row, 10),
                                  recall_cell(row, 20), recall_cell(row, 100)});
    }
    limit_table.rows.push_back({"LIMIT (paper, 50k docs)", "single-vector models", "-", "-", "-", "< 0.20"});
  }

  // ---- the construction ------------------------------------------------------------------
  Table construction{"Moment-curve construction in d = 4: every top-2 set realised exactly (checked in finite precision)",
                     {"n", "top-2 sets", "precision", "top-2 accuracy", "queries not separated", "smallest margin"},
                     {}};
  std::vector<std::pair<int64_t, torch::Dtype>> checks = {{50, torch::kFloat32}, {200, torch::kFloat32}, {400, torch::kFloat64}};
  if (!quick) checks.emplace_back(1600, torch::kFloat64);
  bool construction_ok = true;
  for (const auto& [n, dtype] : checks) {
    const MomentCurveCheck m = check_moment_curve(n, dtype);
    if (n == 50 || dtype == torch::kFloat64) construction_ok = construction_ok && m.failed_queries == 0;
    construction.rows.push_back({std::to_string(n), std::to_string(n * (n - 1) / 2),
                                 dtype == torch::kFloat64 ? "float64" : "float32", fmt::format("{:.6f}", m.accuracy),
                                 std::to_string(m.failed_queries), fmt::format("{:.2e}", m.min_margin)});
  }
  result.tables = {critical, extrapolation, patterns, limit_table, construction};
  result.data_used = data_note;

  // ---- criteria --------------------------------------------------------------------------
  bool within_all = true, increasing = true;
  std::string off;
  for (size_t i = 0; i < ds.size(); ++i) {
    const double f = paper_critical_n(ds[i]);
    if (ds[i] >= 8 && ds[i] <= 16 && std::abs(ns[i] - f) > 0.15 * f) {
      within_all = false;
      off += fmt::format(" d={}: {} vs {:.1f};", ds[i], ns[i], f);
    }
    if (i > 0 && ns[i] <= ns[i - 1]) increasing = false;
  }
  std::string list;
  for (size_t i = 0; i < ds.size(); ++i) list += fmt::format("{}{:.0f}", i ? ", " : "", ns[i]);
  result.criteria.push_back({"A: for d = 8..16 every critical n is within 15% of the paper's fit", within_all,
                             off.empty() ? "critical n for d = 4..: " + list : "outside:" + off});
  result.criteria.push_back({"A: critical n strictly increases with d", increasing, list});
  result.criteria.push_back({"A: a cubic fit over d = 4..16 has r^2 >= 0.99 and a positive cubic coefficient",
                             fit.r2 >= 0.99 && fit.coefficients[3] > 0,
                             fmt::format("{:.3f} + {:.3f} d + {:.4f} d^2 + {:.5f} d^3, r^2 = {:.4f}", fit.coefficients[0],
                                         fit.coefficients[1], fit.coefficients[2], fit.coefficients[3], fit.r2)});
  bool bm25_ok = true;
  std::string bm25_values;
  for (const auto& [name, rows] : by_pattern) {
    const double r2 = find_row(rows, "BM25")->recall.at(2);
    bm25_ok = bm25_ok && r2 >= 0.95;
    bm25_values += fmt::format("{}{} {:.3f}", bm25_values.empty() ? "" : ", ", name, r2);
  }
  result.criteria.push_back({"B: BM25 recall@2 >= 0.95 on every pattern", bm25_ok, bm25_values});
  const double dense8 = find_row(by_pattern["dense"], "free embeddings d=8")->recall.at(2);
  const double disjoint8 = find_row(by_pattern["disjoint"], "free embeddings d=8")->recall.at(2);
  const double dense16 = find_row(by_pattern["dense"], "free embeddings d=16")->recall.at(2);
  result.criteria.push_back({"B: free embeddings at d = 8 fail the dense pattern (recall@2 < 1) but solve disjoint (= 1)",
                             dense8 < 1.0 && disjoint8 == 1.0,
                             fmt::format("dense {:.4f}, disjoint {:.4f}", dense8, disjoint8)});
  result.criteria.push_back({"B: free embeddings at d = 16 solve the dense pattern (recall@2 = 1)", dense16 == 1.0,
                             fmt::format("dense {:.4f}", dense16)});
  result.criteria.push_back({"construction: every top-2 set of n = 50 (float32) and n >= 400 (float64) is realised in d = 4",
                             construction_ok, "see the construction table"});

  // ---- plot, figures, notes --------------------------------------------------------------
  Plot plot{"critical_n.svg", "Critical n of free embeddings against d (k = 2)", "d", "critical n", {}, false};
  Series garden_points{"garden (measured)", ds, ns}, paper_curve{"paper's cubic fit", {}, {}},
      garden_curve{"garden's cubic fit", {}, {}};
  for (double d = 4; d <= static_cast<double>(d_max) + 4; d += 0.5) {
    paper_curve.x.push_back(d);
    paper_curve.y.push_back(paper_critical_n(d));
    garden_curve.x.push_back(d);
    garden_curve.y.push_back(fit.at(d));
  }
  plot.series = {garden_points, paper_curve, garden_curve};
  // The same fits carried out to the embedding widths of real models, on log-log axes, with
  // the extrapolation table's points marked.
  Plot extrapolated{"critical_n_extrapolated.svg", "Critical n extrapolated by the cubic fits (log-log)", "d",
                    "critical n", {}, true, true};
  Series far_paper{"paper's cubic fit", {}, {}}, far_garden{"garden's cubic fit", {}, {}},
      marked_paper{"paper's fit at d = 512..4096", {}, {}}, marked_garden{"garden's fit at d = 512..4096", {}, {}};
  for (double d = 4; d <= 4096; d *= 1.05) {
    far_paper.x.push_back(d);
    far_paper.y.push_back(paper_critical_n(d));
    if (fit.at(d) > 0) {  // a log axis cannot show a fit that dips below zero at small d
      far_garden.x.push_back(d);
      far_garden.y.push_back(fit.at(d));
    }
  }
  for (double d : extrapolated_dims) {
    marked_paper.x.push_back(d);
    marked_paper.y.push_back(paper_critical_n(d));
    marked_garden.x.push_back(d);
    marked_garden.y.push_back(fit.at(d));
  }
  extrapolated.series = {garden_points, far_paper, far_garden, marked_paper, marked_garden};
  result.plots = {plot, extrapolated};
  Json pattern_json = Json::object();
  for (const auto& [name, rows] : by_pattern)
    for (const auto& row : rows) {
      Json recall = Json::object();
      for (const auto& [k, v] : row.recall) recall[std::to_string(k)] = v;
      pattern_json[name].push_back({{"retriever", row.retriever}, {"recall", recall}, {"note", row.note}});
    }
  result.figures = {{"critical_n", critical_json},
                    {"fit", {{"coefficients", fit.coefficients}, {"r2", fit.r2}}},
                    {"critical_n_seconds", critical_seconds},
                    {"patterns", pattern_json}};
  result.notes.push_back(quick ? "Quick scale: d = 4..16 without the paper's extra evaluations of n-4..n+5 around each "
                                 "critical n (they do not change it); free embeddings are not optimised on the 50k-document "
                                 "LIMIT (a 1000 x 50,000 logit matrix per step: full scale does, about 30 minutes on 2 "
                                 "cores)."
                               : "Full scale: d = 4..24 with the paper's record of n-4..n+5 around each critical n.");
  result.notes.push_back(
      "Caveat (the spec's): the critical n is a property of this optimiser (InfoNCE at tau 0.1, unit norm, Adam, early "
      "stopping, float32), not a geometric ceiling: the moment-curve construction realises every top-2 set in d = 4 "
      "for any n in exact arithmetic. Its finite-precision margins shrink as n grows, which is where float32 loses "
      "sets. The paper's extrapolations describe what contrastive training reaches, not a capacity bound.");
  result.notes.push_back(
      "The generated collections use single-word WordNet nouns with distinct English stems as attributes, so a query's "
      "attribute is one token found only in its two relevant documents; the published LIMIT uses Gemini-written "
      "multi-word attributes. No trained garden encoder exists yet, so the dense rows are free embeddings (the best "
      "case) and an untrained hashed bag of words.");
  return result;
}

}  // namespace garden::repro
