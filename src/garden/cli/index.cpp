// garden index build | garden search: BM25 indexes over Xapian.
#include <fmt/core.h>

#include "garden/cli/common.h"
#include "garden/core/error.h"
#include "garden/retrieval/bm25.h"
#include "garden/retrieval/fusion.h"

namespace garden::cli {

void register_index(CLI::App& app) {
  auto* index = app.add_subcommand("index", "build retrieval indexes");
  index->require_subcommand(1);
  struct BuildOptions {
    std::string corpus, kind = "bm25", out;
    retrieval::Bm25Options bm25;
  };
  auto b = std::make_shared<BuildOptions>();
  auto* build = index->add_subcommand("build", "index a BEIR-layout collection");
  build->add_option("--corpus", b->corpus, "collection folder (corpus.jsonl, queries.jsonl, qrels/)")->required();
  build->add_option("--kind", b->kind, "bm25")->capture_default_str();
  build->add_option("--out", b->out, "index folder")->required();
  build->add_option("--k1", b->bm25.k1, "BM25 k1")->capture_default_str();
  build->add_option("--b", b->bm25.b, "BM25 b")->capture_default_str();
  build->add_option("--stem", b->bm25.stem, "none | english")->capture_default_str();
  build->callback([b] {
    if (b->kind != "bm25") usage_error("--kind must be bm25 (dense kinds are not built yet), got '" + b->kind + "'");
    retrieval::build_bm25_index(b->corpus, b->out, b->bm25);
    fmt::print("wrote {}\n", b->out);
  });

  struct SearchOptions {
    std::string index, query, queries, run, tag = "garden-bm25";
    int64_t k = 10;
  };
  auto s = std::make_shared<SearchOptions>();
  auto* search = app.add_subcommand("search", "query an index: one --query, or a queries file into a TREC run");
  search->add_option("--index", s->index, "index folder")->required();
  search->add_option("--query", s->query, "query text");
  search->add_option("--queries", s->queries, "queries.jsonl ({\"_id\", \"text\"}) or a collection folder");
  search->add_option("--run", s->run, "with --queries: TREC run file to write");
  search->add_option("--k", s->k, "results per query")->capture_default_str();
  search->add_option("--tag", s->tag, "run tag")->capture_default_str();
  search->callback([s] {
    retrieval::Bm25Index index(s->index);
    if (!s->query.empty()) {
      const auto hits = index.search(s->query, s->k);
      for (size_t i = 0; i < hits.size(); ++i) fmt::print("{:>3}  {:<12} {:.4f}\n", i + 1, hits[i].doc_id, hits[i].score);
      return;
    }
    if (s->queries.empty() || s->run.empty()) usage_error("give --query TEXT, or --queries FILE with --run OUT");
    std::filesystem::path dir = s->queries;
    if (std::filesystem::is_regular_file(dir)) dir = dir.parent_path();
    const auto collection = retrieval::read_beir_collection(dir);
    retrieval::write_trec_run(s->run, index.search_all(collection.queries, s->k), s->tag);
    fmt::print("wrote {} ({} queries)\n", s->run, collection.queries.size());
  });

  struct FuseOptions {
    std::vector<std::string> runs;
    std::vector<double> weights;
    std::string method = "rrf", out, tag = "garden-fused";
    double k = 60;
    int64_t depth = 1000;
  };
  auto f = std::make_shared<FuseOptions>();
  auto* fuse = app.add_subcommand("fuse", "fuse TREC runs of the same queries (reciprocal rank or weighted min-max scores)");
  fuse->add_option("--run", f->runs, "TREC run files (two or more)")->required();
  fuse->add_option("--method", f->method, "rrf | weighted")->capture_default_str();
  fuse->add_option("--k", f->k, "rrf constant")->capture_default_str();
  fuse->add_option("--weights", f->weights, "weighted: one weight per run")->delimiter(',');
  fuse->add_option("--depth", f->depth, "documents kept per query")->capture_default_str();
  fuse->add_option("--out", f->out, "fused TREC run")->required();
  fuse->add_option("--tag", f->tag)->capture_default_str();
  fuse->callback([f] {
    std::vector<retrieval::Run> runs;
    for (const auto& path : f->runs) runs.push_back(retrieval::read_trec_run(path));
    retrieval::Run fused;
    if (f->method == "rrf") fused = retrieval::reciprocal_rank_fusion(runs, f->k, f->depth);
    else if (f->method == "weighted")
      fused = retrieval::weighted_score_fusion(runs, f->weights.empty() ? std::vector<double>(runs.size(), 1.0) : f->weights, f->depth);
    else usage_error("--method must be rrf or weighted, got '" + f->method + "'");
    retrieval::write_trec_run(f->out, fused, f->tag);
    fmt::print("wrote {} ({} queries)\n", f->out, fused.size());
  });
}

}  // namespace garden::cli
