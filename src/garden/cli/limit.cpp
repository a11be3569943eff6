// garden limit free-embed | critical-n | sweep | fit | construct | gen | eval.
#include <fmt/core.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "garden/cli/common.h"
#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/core/json.h"
#include "garden/core/progress.h"
#include "garden/core/data_root.h"
#include "garden/core/runtime.h"
#include "garden/limit/recall.h"
#include "garden/limit/free_embedding.h"
#include "garden/limit/collection.h"

namespace garden::cli {

namespace {

using namespace garden::retrieval;
using namespace garden::limit;

struct OptimiserFlags {
  int threads = 0;
  uint64_t seed = 42;
  int64_t max_iterations = 100000;
  int64_t chunk = 0;
  std::string dtype = "float32";
};

void add_optimiser_flags(CLI::App* cmd, OptimiserFlags& f) {
  cmd->add_option("--seed", f.seed, "seed of the initial embeddings");
  cmd->add_option("--max-iterations", f.max_iterations, "iterations per n at most");
  cmd->add_option("--query-chunk", f.chunk, "queries per block of the logit matrix (0: blocks of about 16 MB)");
  cmd->add_option("--dtype", f.dtype, "float32 (as the paper) or float64")->check(CLI::IsMember({"float32", "float64"}));
  cmd->add_option("--threads", f.threads, "CPU threads (0 = all cores)");
}

FreeEmbeddingOptions to_options(const OptimiserFlags& f) {
  configure_threads(f.threads);
  FreeEmbeddingOptions o;
  o.seed = f.seed;
  o.max_iterations = f.max_iterations;
  o.query_chunk = f.chunk;
  o.dtype = f.dtype == "float64" ? torch::kFloat64 : torch::kFloat32;
  if (o.max_iterations < 1) usage_error("--max-iterations must be at least 1");
  if (o.query_chunk < 0) usage_error("--query-chunk must be 0 (automatic) or positive");
  return o;
}

void print_trial(const NTrial& t) {
  fmt::print("  n={:<5} {:<8} best top-2 accuracy {:.4f}  {:>6} iterations ({})  {:.1f} s\n", t.n,
             t.success ? "solved" : "failed", t.best_accuracy, t.iterations, t.stopped_by, t.seconds);
  std::fflush(stdout);
}

// The sweep file: {"settings": {...}, "dims": [CriticalNResult, ...]}.
std::vector<CriticalNResult> sweep_results(const Json& json, const std::string& path) {
  std::vector<CriticalNResult> out;
  try {
    for (const Json& entry : json.at("dims")) out.push_back(CriticalNResult::from_json(entry));
  } catch (const Json::exception& e) {
    throw Error(fmt::format("'{}' is not a sweep file of garden limit sweep: {}", path, e.what()));
  }
  return out;
}

void print_fit(const std::vector<CriticalNResult>& results) {
  std::vector<double> d, n;
  for (const auto& r : results) {
    d.push_back(static_cast<double>(r.dims));
    n.push_back(static_cast<double>(r.critical_n));
  }
  const CubicFit fit = fit_cubic(d, n);
  fmt::print("cubic fit over d = {}..{}: critical-n = {:.4f} + {:.4f} d + {:.4f} d^2 + {:.5f} d^3   r^2 = {:.4f}\n", d.front(),
             d.back(), fit.coefficients[0], fit.coefficients[1], fit.coefficients[2], fit.coefficients[3], fit.r2);
  fmt::print("paper:                        critical-n = -10.5322 + 4.0309 d + 0.0520 d^2 + 0.0037 d^3   r^2 = 0.999\n\n");
  fmt::print("{:>6} {:>16} {:>16}\n", "d", "garden fit", "paper fit");
  for (double x : {512.0, 768.0, 1024.0, 3072.0, 4096.0})
    fmt::print("{:>6} {:>16.0f} {:>16.0f}\n", x, fit.at(x), paper_critical_n(x));
}

void add_limit_free_embed(CLI::App& group) {
  static OptimiserFlags free_flags;
  static int64_t free_d = 8, free_n = 20, free_k = 2;
  auto* free_cmd = group.add_subcommand("free-embed", "optimise free embeddings on all top-2 sets of n documents");
  free_cmd->add_option("--d", free_d, "embedding dimension")->required();
  free_cmd->add_option("--n", free_n, "documents (queries: every pair)")->required();
  free_cmd->add_option("--k", free_k, "relevant documents per query (the paper's experiment: 2)")->check(CLI::IsMember({2}));
  add_optimiser_flags(free_cmd, free_flags);
  free_cmd->callback([] {
    FreeEmbeddingOptions o = to_options(free_flags);
    o.dims = free_d;
    if (free_n < 3) usage_error(fmt::format("--n must be at least 3, not {}", free_n));
    const FreeEmbeddingResult r = optimise_free_embeddings(free_n, all_pairs(free_n), o);
    fmt::print("d={} n={} ({} queries): {}, best top-2 accuracy {:.4f}, {} iterations ({}), final loss {:.5f}, {:.1f} s\n",
               free_d, free_n, free_n * (free_n - 1) / 2, r.success ? "solved" : "not solved", r.best_accuracy,
               r.iterations, r.stopped_by, r.final_loss, r.seconds);
  });
}

void add_limit_critical_n(CLI::App& group) {
  static OptimiserFlags critical_flags;
  static int64_t critical_d = 8;
  static std::string critical_n0 = "auto";
  static bool critical_no_record = false;
  static std::string critical_out;
  auto* critical_cmd = group.add_subcommand("critical-n", "the largest n whose all-pairs top-2 sets the optimiser solves");
  critical_cmd->add_option("--d", critical_d, "embedding dimension")->required();
  critical_cmd->add_option("--n0", critical_n0, "first n tried, or auto: the paper's cubic fit at d");
  critical_cmd->add_flag("--no-record", critical_no_record, "skip the paper's extra evaluations of n-4..n+5");
  critical_cmd->add_option("--out", critical_out, "write the JSON log of every n tried");
  add_optimiser_flags(critical_cmd, critical_flags);
  critical_cmd->callback([] {
    int64_t n0 = 0;  // auto
    if (critical_n0 != "auto") {
      try {
        n0 = std::stoll(critical_n0);
      } catch (const std::exception&) {
        n0 = 0;
      }
      if (n0 < 3) usage_error(fmt::format("--n0 must be auto or a number of documents >= 3, not '{}'", critical_n0));
    }
    const CriticalNResult r = critical_n_for_dims(critical_d, n0, !critical_no_record, to_options(critical_flags), print_trial);
    fmt::print("d={}: critical n = {} (paper's fit {:.1f}); {} n evaluated in {:.1f} s\n", r.dims, r.critical_n,
               paper_critical_n(static_cast<double>(r.dims)), r.trials.size(), r.seconds);
    if (!critical_out.empty()) {
      write_file_atomic(critical_out, r.to_json().dump(1) + "\n");
      fmt::print("wrote {}\n", critical_out);
    }
  });
}

void add_limit_sweep(CLI::App& group) {
  static OptimiserFlags sweep_flags;
  static std::string sweep_d = "4..16", sweep_out = "runs/limit-sweep.json";
  static bool sweep_record = false;
  auto* sweep_cmd = group.add_subcommand("sweep", "critical n for a range of dimensions, then the cubic fit");
  sweep_cmd->add_option("--d", sweep_d, "dimensions, e.g. 4..16");
  sweep_cmd->add_flag("--record", sweep_record, "also evaluate n-4..n+5 around each critical n (the paper's record)");
  sweep_cmd->add_option("--out", sweep_out, "the sweep file; dimensions already in it are not run again");
  add_optimiser_flags(sweep_cmd, sweep_flags);
  sweep_cmd->callback([] {
    const auto [from, to] = parse_int_range(sweep_d, "--d");
    const FreeEmbeddingOptions options = to_options(sweep_flags);
    const Json settings = {{"seed", sweep_flags.seed}, {"max_iterations", sweep_flags.max_iterations},
                           {"dtype", sweep_flags.dtype}, {"record", sweep_record}};
    std::map<int64_t, CriticalNResult> done;
    if (std::filesystem::exists(sweep_out)) {
      const Json previous = read_json_file(sweep_out);
      if (previous.value("settings", Json()) != settings)
        throw Error(fmt::format("'{}' holds a sweep with other settings ({}); choose another --out", sweep_out,
                                previous.value("settings", Json()).dump()));
      for (auto& r : sweep_results(previous, sweep_out)) done[r.dims] = r;
    }
    for (int64_t d = from; d <= to; ++d) {
      if (done.count(d)) {
        fmt::print("d={}: critical n = {} (from {})\n", d, done[d].critical_n, sweep_out);
        continue;
      }
      fmt::print("d={} (paper's fit {:.1f}):\n", d, paper_critical_n(static_cast<double>(d)));
      done[d] = critical_n_for_dims(d, 0, sweep_record, options, print_trial);
      fmt::print("d={}: critical n = {} in {:.1f} s\n", d, done[d].critical_n, done[d].seconds);
      Json file = {{"settings", settings}, {"dims", Json::array()}};
      for (const auto& [dims, r] : done) file["dims"].push_back(r.to_json());
      write_file_atomic(sweep_out, file.dump(1) + "\n");  // after every d: an interrupted sweep resumes
    }
    std::vector<CriticalNResult> results;
    for (const auto& [dims, r] : done) results.push_back(r);
    if (results.size() >= 4) print_fit(results);
    fmt::print("sweep file: {}\n", sweep_out);
  });
}

void add_limit_fit(CLI::App& group) {
  static std::string fit_input = "runs/limit-sweep.json";
  auto* fit_cmd = group.add_subcommand("fit", "cubic fit of critical n against d, with the paper's extrapolations");
  fit_cmd->add_option("--input", fit_input, "a sweep file (garden limit sweep --out)");
  fit_cmd->callback([] { print_fit(sweep_results(read_json_file(fit_input), fit_input)); });
}

void add_limit_construct(CLI::App& group) {
  static int64_t construct_n = 50, construct_d = 4;
  static std::string construct_dtype = "float32";
  auto* construct_cmd =
      group.add_subcommand("construct", "explicit embeddings on the moment curve that realise every top-2 set in d = 4");
  construct_cmd->add_option("--n", construct_n, "documents (queries: every pair)");
  construct_cmd->add_option("--d", construct_d, "the construction lives in d = 4")->check(CLI::IsMember({4}));
  construct_cmd->add_option("--dtype", construct_dtype, "float32 or float64")->check(CLI::IsMember({"float32", "float64"}));
  construct_cmd->callback([] {
    configure_threads(0);
    const MomentCurveCheck c = check_moment_curve(construct_n, construct_dtype == "float64" ? torch::kFloat64 : torch::kFloat32);
    fmt::print("d=4, n={} ({} top-2 sets), {}: top-2 accuracy {:.6f}, {} queries not strictly separated, smallest margin {:.3e}\n",
               c.n, c.n * (c.n - 1) / 2, construct_dtype, c.accuracy, c.failed_queries, c.min_margin);
    if (c.failed_queries == 0) {
      fmt::print("every top-2 set is realised: a critical n is a property of the optimiser, not a geometric ceiling of d = 4\n");
    } else {
      fmt::print("in this precision some sets are lost: the margins shrink polynomially with n (exact arithmetic realises all)\n");
    }
  });
}

void add_limit_gen(CLI::App& group) {
  static LimitDataOptions gen;
  static std::string gen_pattern = "dense", gen_out;
  auto* gen_cmd = group.add_subcommand("gen", "generate a LIMIT-style collection (BEIR layout)");
  gen_cmd->add_option("--pattern", gen_pattern, "qrel pattern: dense, random, cycle or disjoint");
  gen_cmd->add_option("--queries", gen.queries, "queries, each with its own attribute");
  gen_cmd->add_option("--docs", gen.docs, "documents (default: just the relevant ones; more adds distractors)");
  gen_cmd->add_option("--k", gen.k, "relevant documents per query (2)");
  gen_cmd->add_option("--attributes", gen.attributes_per_doc, "attributes per document at least");
  gen_cmd->add_option("--seed", gen.seed, "seed");
  gen_cmd->add_option("--out", gen_out, "output folder")->required();
  gen_cmd->callback([] {
    gen.pattern = parse_qrel_pattern(gen_pattern);
    claim_output_dir(gen_out, "garden limit gen");
    const auto c = generate_limit_collection(gen);
    write_beir_collection(c, gen_out);
    fmt::print("wrote {}: {} documents ({} relevant), {} queries, pattern {}\n", gen_out, c.corpus.size(),
               relevant_docs_needed(gen.pattern, gen.queries), c.queries.size(), gen_pattern);
  });
}

void add_limit_eval(CLI::App& group) {
  static OptimiserFlags eval_flags;
  static std::string eval_collection, eval_dims = "8,16", eval_ks = "2,10,20,100", eval_data;
  static int64_t eval_hashed = 512;
  static bool eval_no_bm25 = false;
  static std::vector<std::string> eval_encoders;
  auto* eval_cmd = group.add_subcommand("eval", "recall@k of BM25, free embeddings, garden encoders and hashed bag of words on a LIMIT collection");
  eval_cmd->add_option("--collection", eval_collection, "a BEIR folder, or a name under the data root (e.g. limit-small)")->required();
  eval_cmd->add_option("--d", eval_dims, "free-embedding dimensions, comma-separated ('' for none)");
  eval_cmd->add_option("--k", eval_ks, "recall cut-offs");
  eval_cmd->add_option("--hashed", eval_hashed, "hashed bag-of-words dimensions (0: off)");
  eval_cmd->add_flag("--no-bm25", eval_no_bm25, "skip BM25");
  eval_cmd->add_option("--model", eval_encoders, "a trained garden embedding model (repeatable): one row each");
  eval_cmd->add_option("--data", eval_data, "data root (default $GARDEN_DATA)");
  add_optimiser_flags(eval_cmd, eval_flags);
  eval_cmd->callback([] {
    auto numbers = [](const std::string& list, const char* flag) {
      std::vector<int64_t> out;
      std::stringstream in(list);
      std::string item;
      while (std::getline(in, item, ',')) {
        try {
          out.push_back(std::stoll(item));
        } catch (const std::exception&) {
          usage_error(fmt::format("{}: '{}' is not a number", flag, item));
        }
        if (out.back() < 1) usage_error(fmt::format("{}: {} must be at least 1", flag, item));
      }
      return out;
    };
    std::filesystem::path dir = eval_collection;
    if (!std::filesystem::exists(dir)) {
      const auto found = find_collection(resolve_data_root(eval_data), eval_collection);
      if (!found) throw Error(fmt::format("collection '{}': no such folder, and not found under the data root", eval_collection));
      dir = *found;
    }
    garden::limit::LimitEvalOptions o;
    o.free = to_options(eval_flags);
    o.free_dims = numbers(eval_dims, "--d");
    o.ks = numbers(eval_ks, "--k");
    o.hashed_dims = eval_hashed;
    o.bm25 = !eval_no_bm25;
    o.encoders.assign(eval_encoders.begin(), eval_encoders.end());
    const auto collection = read_beir_collection(dir);
    fmt::print("{}: {} documents, {} queries\n", dir.string(), collection.corpus.size(), collection.queries.size());
    const auto rows = garden::limit::evaluate_limit(collection, dir, o);
    fmt::print("{:<28}", "retriever");
    for (int64_t k : o.ks) fmt::print(" {:>9}", fmt::format("recall@{}", k));
    fmt::print("\n");
    for (const auto& row : rows) {
      fmt::print("{:<28}", row.retriever);
      for (int64_t k : o.ks) fmt::print(" {:>9.4f}", row.recall.at(k));
      fmt::print("   {}\n", row.note);
    }
  });
}

}  // namespace

void register_limit(CLI::App& app) {
  auto* group = app.add_subcommand("limit", "LIMIT: free-embedding limits of single-vector retrieval");
  group->require_subcommand(1);
  add_limit_free_embed(*group);
  add_limit_critical_n(*group);
  add_limit_sweep(*group);
  add_limit_fit(*group);
  add_limit_construct(*group);
  add_limit_gen(*group);
  add_limit_eval(*group);
}

}  // namespace garden::cli
