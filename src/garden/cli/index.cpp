// garden index build | garden search: BM25 indexes over Xapian.
#include <fmt/core.h>

#include <optional>

#include "garden/cli/common.h"
#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/core/json.h"
#include "garden/conversation/assistants.h"
#include "garden/core/runtime.h"
#include "garden/core/shard.h"
#include "garden/model/grit.h"
#include "garden/model/model_folder.h"
#include "garden/retrieval/bm25.h"
#include "garden/retrieval/dense.h"
#include "garden/retrieval/fusion.h"
#include "garden/retrieval/hyde.h"
#include "garden/retrieval/manifest.h"
#include "garden/retrieval/matryoshka_funnel.h"
#include "garden/retrieval/model_vectors.h"
#include "garden/retrieval/rag.h"
#include "garden/retrieval/retriever.h"
#include "garden/text/tokenizer.h"
#include "garden/train/run_folder.h"

namespace garden::cli {

namespace {

void add_index_build(CLI::App& index) {
  struct BuildOptions {
    std::string corpus, kind = "bm25", out, ids, model, metric, shard;
    std::vector<std::string> vectors;
    int64_t batch = 32;
    retrieval::Bm25Options bm25;
    retrieval::DenseOptions dense;
    std::vector<std::string> members;
    retrieval::FusionOptions fusion;
    bool store_kv = false;
    std::string kv_attention = "embedding", kv_dtype = "bf16";
    int64_t kv_max_tokens = 0;
  };
  auto b = std::make_shared<BuildOptions>();
  auto* build = index.add_subcommand("build", "index a BEIR-layout collection");
  build->add_option("--corpus", b->corpus, "collection folder (corpus.jsonl, queries.jsonl, qrels/); dense: row i is its i-th document");
  build->add_option("--kind", b->kind, "bm25 | flat | hnsw | ivfpq | fusion | shards")->capture_default_str();
  build->add_option("--vectors", b->vectors,
                    "dense: document vectors, .npy (float32, 2-D) or .fvecs; repeated: shards whose rows follow each other");
  build->add_option("--shard", b->shard,
                    "R/N: index only rank R's share of the --corpus documents, into OUT.shard-R-of-N (default: $RANK/$WORLD_SIZE "
                    "when set, as garden launch sets them)");
  build->add_option("--model", b->model, "dense: encode the --corpus documents with this garden embedding model");
  build->add_option("--batch", b->batch, "dense with --model: texts per forward pass")->capture_default_str();
  build->add_option("--ids", b->ids, "dense: a file of document ids, one a line (instead of --corpus)");
  build->add_option("--metric", b->metric,
                    "dense: cosine | ip (default: cosine; with --model, the model's own score: ip for a --score dot model)");
  build->add_option("--dims", b->dense.dims, "dense: index only the first m dimensions (Matryoshka); 0 = all")->capture_default_str();
  build->add_option("--hnsw-m", b->dense.hnsw_m)->capture_default_str();
  build->add_option("--ef-construction", b->dense.ef_construction)->capture_default_str();
  build->add_option("--ef-search", b->dense.ef_search)->capture_default_str();
  build->add_option("--nlist", b->dense.nlist, "IVF lists (0 = about 4 sqrt(N))")->capture_default_str();
  build->add_option("--nprobe", b->dense.nprobe)->capture_default_str();
  build->add_option("--pq-m", b->dense.pq_m, "PQ sub-quantisers")->capture_default_str();
  build->add_option("--seed", b->dense.seed)->capture_default_str();
  build->add_option("--out", b->out, "index folder")->required();
  build->add_flag("--store-kv", b->store_kv, "dense with a GritLM --model: keep every document's key/value states in kv/ (garden rag --cache doc)");
  build->add_option("--kv-attention", b->kv_attention, "--store-kv: embedding (the model's embedding pass, as GritLM) | causal")
      ->capture_default_str();
  build->add_option("--kv-dtype", b->kv_dtype, "--store-kv: bf16 | float32")->capture_default_str();
  build->add_option("--kv-max-tokens", b->kv_max_tokens, "--store-kv: document tokens kept (0: the embedder's max_tokens)")->capture_default_str();
  build->add_option("--k1", b->bm25.k1, "BM25 k1")->capture_default_str();
  build->add_option("--b", b->bm25.b, "BM25 b")->capture_default_str();
  build->add_option("--stem", b->bm25.stem, "none | english")->capture_default_str();
  build->add_flag("--stopwords", b->bm25.stopwords, "drop Lucene's 33 English stop words");
  build->add_option("--member", b->members, "fusion: an index folder to fuse (two or more; bm25 or dense); shards: a shard's index");
  build->add_option("--method", b->fusion.method, "fusion: rrf | weighted")->capture_default_str();
  build->add_option("--k", b->fusion.k, "fusion: rrf constant")->capture_default_str();
  build->add_option("--weights", b->fusion.weights, "fusion, weighted: one weight per member")->delimiter(',');
  build->add_option("--depth", b->fusion.depth, "fusion: documents each member retrieves per query")->capture_default_str();
  build->callback([b] {
    if (b->kind == "fusion") {
      if (!b->corpus.empty() || !b->vectors.empty() || !b->model.empty())
        usage_error("--kind fusion takes --member index folders, not --corpus, --vectors or --model");
      std::vector<std::filesystem::path> members(b->members.begin(), b->members.end());
      for (const auto& member : members) refuse_output_over_input(b->out, "--out", member, "--member");
      claim_output_dir(b->out, "garden index build");
      retrieval::build_fusion_index(members, b->out, b->fusion);
      fmt::print("wrote {}\n", b->out);
      return;
    }
    if (b->kind == "shards") {
      if (!b->corpus.empty() || !b->vectors.empty() || !b->model.empty())
        usage_error("--kind shards takes the shards' index folders as --member, not --corpus, --vectors or --model");
      std::vector<std::filesystem::path> members(b->members.begin(), b->members.end());
      for (const auto& member : members) refuse_output_over_input(b->out, "--out", member, "--member");
      claim_output_dir(b->out, "garden index build");
      retrieval::build_shard_index(members, b->out);
      fmt::print("wrote {}: {} shards searched as one\n", b->out, members.size());
      return;
    }
    if (!b->members.empty()) usage_error("--member is for --kind fusion or shards");
    const ShardSpec shard = shard_spec(b->shard);
    if (shard.active() && b->corpus.empty()) usage_error("--shard splits the documents of --corpus: give --corpus");
    if (shard.active() && b->vectors.size() > 1) usage_error("--shard builds one shard from its own vectors: give one --vectors");
    const std::filesystem::path out = shard_path(b->out, shard);
    if (!b->corpus.empty()) refuse_output_over_input(out, "--out", b->corpus, "--corpus");
    claim_output_dir(out, "garden index build");
    if (b->kind == "bm25") {
      if (b->corpus.empty()) usage_error("--kind bm25 needs --corpus");
      retrieval::build_bm25_index(b->corpus, out, b->bm25, true, shard);
    } else {
      if (b->vectors.empty() == b->model.empty())
        usage_error("--kind " + b->kind + " needs --vectors FILE (garden embed encode writes them) or --model MODEL, not both");
      if (!b->model.empty()) {
        if (b->corpus.empty()) usage_error("--model encodes the documents of --corpus DIR");
        const auto collection = retrieval::read_beir_collection(b->corpus);
        const auto [first, last] = nonempty_share(static_cast<int64_t>(collection.corpus.size()), shard, "documents");
        std::vector<std::string> ids, texts;
        for (int64_t i = first; i < last; ++i) {
          const auto& doc = collection.corpus[static_cast<size_t>(i)];
          ids.push_back(doc.id);
          texts.push_back(retrieval::document_text(doc));
        }
        Json provenance = retrieval::model_fingerprint(b->model);
        provenance.update(retrieval::corpus_fingerprint(b->corpus));
        b->dense.kind = b->kind;
        retrieval::EmbeddingModel encoder(b->model);
        b->dense.metric = b->metric.empty() ? encoder.metric() : b->metric;
        if (b->store_kv && !encoder.grit()) usage_error("--store-kv keeps a GritLM's document states; " + b->model + " is not a GritLM");
        retrieval::build_dense_index(retrieval::encode_with_model(encoder, texts, encoder.document_instruction(), b->batch, "encode"), ids, out,
                                     b->dense, provenance);
        if (b->store_kv) {
          auto grit = model::load_grit(train::model_folder(b->model));
          retrieval::StatesStoreOptions store;
          store.attention = retrieval::parse_states_attention(b->kv_attention);
          if (b->kv_dtype != "bf16" && b->kv_dtype != "float32") usage_error("--kv-dtype must be bf16 or float32, not '" + b->kv_dtype + "'");
          store.dtype = b->kv_dtype == "bf16" ? torch::kBFloat16 : torch::kFloat32;
          store.max_tokens = b->kv_max_tokens;
          retrieval::store_document_states(grit, texts, out, store, true);
        }
        fmt::print("wrote {}{}\n", out.string(), b->store_kv ? " with every document's key/value states in kv/" : "");
        return;
      }
      if (b->store_kv) usage_error("--store-kv computes the states with --model (a GritLM)");
      if (!b->metric.empty()) b->dense.metric = b->metric;
      std::vector<std::string> ids;
      Json sources = Json::array();
      for (const auto& file : b->vectors) sources.push_back(std::filesystem::absolute(file).string());
      Json provenance{{"vectors", sources.size() == 1 ? sources[0] : sources}};
      if (!b->ids.empty()) {
        ids = retrieval::read_id_list(b->ids);
      } else if (!b->corpus.empty()) {
        const auto corpus = retrieval::read_beir_collection(b->corpus).corpus;
        const auto [first, last] = nonempty_share(static_cast<int64_t>(corpus.size()), shard, "documents");
        for (int64_t i = first; i < last; ++i) ids.push_back(corpus[static_cast<size_t>(i)].id);
        provenance.update(retrieval::corpus_fingerprint(b->corpus));
      } else {
        usage_error("a dense index needs document ids: --corpus DIR or --ids FILE");
      }
      // Shards written by garden embed encode --shard, in rank order: their rows follow each other.
      retrieval::Matrix vectors = retrieval::read_vectors(b->vectors.front());
      for (size_t i = 1; i < b->vectors.size(); ++i) {
        const auto more = retrieval::read_vectors(b->vectors[i]);
        if (more.cols != vectors.cols)
          usage_error(fmt::format("--vectors {} has {} columns, {} has {}: shards of one encoding share their width", b->vectors[i],
                                  more.cols, b->vectors.front(), vectors.cols));
        vectors.data.insert(vectors.data.end(), more.data.begin(), more.data.end());
        vectors.rows += more.rows;
      }
      b->dense.kind = b->kind;
      retrieval::build_dense_index(vectors, ids, out, b->dense, provenance);
    }
    fmt::print("wrote {}\n", out.string());
  });
}

// `garden search`'s flags.
struct SearchCommand {
  std::string index, query, queries, run, tag = "garden", query_vectors, model, instruction;
  int64_t batch = 32;
  int64_t k = 10, ef_search = 0, nprobe = 0;
  std::vector<int64_t> shortlist, rerank_dims;
  // HyDE: a generator (a garden LM, or an OpenAI-compatible endpoint) and its settings.
  std::string hyde_lm, hyde_task = "web-search", hyde_template, hyde_out;
  conversation::EndpointOptions endpoint;
  retrieval::HydeOptions hyde;
  bool hyde_without_query = false;
  int threads = 0;
};

// HyDE: hypothetical documents from a garden LM or an endpoint, averaged with the query into
// one vector per query, searched over a dense index built with --model.
void run_hyde_search(SearchCommand& s) {
  if (!s.hyde_lm.empty() && !s.endpoint.base_url.empty()) usage_error("--hyde and --hyde-endpoint each give the generator: give one");
  if (s.model.empty()) usage_error("HyDE encodes the queries and their documents with --model (the index's model)");
  if (s.queries.empty() || s.run.empty()) usage_error("HyDE searches --queries FILE into --run OUT");
  s.hyde.prompt_template = s.hyde_template.empty() ? retrieval::hyde_template(s.hyde_task) : s.hyde_template;
  s.hyde.include_query = !s.hyde_without_query;
  s.hyde.instruction = s.instruction;
  s.hyde.batch = s.batch;
  const std::string generations = s.hyde_out.empty() ? s.run + ".hyde.jsonl" : s.hyde_out;
  refuse_foreign_output_file(generations, "HyDE documents", [](const std::filesystem::path& p) {
    const std::string text = read_file(p);
    const auto first = Json::parse(text.substr(0, text.find('\n')), nullptr, false);
    return first.is_object() && first.contains("query_id") && first.contains("documents");
  });
  retrieval::EmbeddingModel encoder(s.model);
  retrieval::HydeGenerator generator;
  if (!s.hyde_lm.empty()) {
    auto lm = model::load_model(train::model_folder(s.hyde_lm));
    generator = retrieval::lm_generator(lm.model, text::load_tokenizer(lm.tokenizer_spec));
  } else {
    if (s.endpoint.model.empty()) usage_error("--hyde-endpoint needs --hyde-model, the model name the endpoint serves");
    s.endpoint.max_tokens = s.hyde.sampling.max_new_tokens;
    generator = conversation::endpoint_hyde_generator(s.endpoint);
  }
  retrieval::HydeRetriever retriever(s.index, encoder, generator, s.hyde);
  std::filesystem::path dir = s.queries;
  if (std::filesystem::is_regular_file(dir)) dir = dir.parent_path();
  const auto queries = retrieval::read_beir_collection(dir).queries;
  const auto run = retriever.search(queries, s.k);
  retrieval::write_trec_run(s.run, run, s.tag);
  retrieval::write_hyde_generations(generations, queries, retriever.last_generations());
  fmt::print("wrote {} ({} queries, {} hypothetical documents each) and {}\n", s.run, queries.size(), s.hyde.sampling.n, generations);
}

void add_search(CLI::App& app) {
  auto s = std::make_shared<SearchCommand>();
  auto* search = app.add_subcommand("search", "query an index: one --query, or a queries file into a TREC run");
  search->add_option("--index", s->index, "index folder")->required();
  search->add_option("--query", s->query, "query text");
  search->add_option("--queries", s->queries, "queries.jsonl ({\"_id\", \"text\"}) or a collection folder");
  search->add_option("--run", s->run, "with --queries: TREC run file to write");
  search->add_option("--k", s->k, "results per query")->capture_default_str();
  search->add_option("--tag", s->tag, "run tag")->capture_default_str();
  search->add_option("--model", s->model, "dense: encode the --queries with this model (the one the index was built with)");
  search->add_option("--instruction", s->instruction, "dense with --model: prefix of every query, excluded from pooling");
  search->add_option("--batch", s->batch, "dense with --model: texts per forward pass")->capture_default_str();
  search->add_option("--query-vectors", s->query_vectors, "dense: query vectors (.npy/.fvecs), row i = i-th query of --queries");
  search->add_option("--shortlist", s->shortlist, "dense funnel: list length entering each stage, e.g. 200,100,50,25 (the first from the index)")
      ->delimiter(',');
  search->add_option("--rerank-dims", s->rerank_dims, "dense funnel: prefix length of each stage, e.g. 16,32,64,128 (default: all dimensions)")
      ->delimiter(',');
  search->add_option("--ef-search", s->ef_search, "HNSW beam at search time (default: the index's)");
  search->add_option("--nprobe", s->nprobe, "IVF lists visited (default: the index's)");
  search->add_option("--hyde", s->hyde_lm, "HyDE: a garden LM (folder or run) writes hypothetical documents for each query");
  search->add_option("--hyde-endpoint", s->endpoint.base_url, "HyDE: an OpenAI-compatible endpoint writes them instead, e.g. http://127.0.0.1:8000/v1");
  search->add_option("--hyde-model", s->endpoint.model, "HyDE with --hyde-endpoint: the model name sent");
  search->add_option("--hyde-task", s->hyde_task, "HyDE: the official prompt of a task: web-search | scifact | arguana | trec-covid | fiqa | "
                                                  "dbpedia-entity | trec-news | mr-tydi:LANGUAGE | title")
      ->capture_default_str();
  search->add_option("--hyde-template", s->hyde_template, "HyDE: a prompt of your own with {query} where the query goes");
  search->add_option("--hyde-n", s->hyde.sampling.n, "HyDE: documents generated per query (0: the query alone)")->capture_default_str();
  search->add_option("--temperature", s->hyde.sampling.temperature, "HyDE: sampling temperature")->capture_default_str();
  search->add_option("--top-p", s->hyde.sampling.top_p, "HyDE: nucleus threshold")->capture_default_str();
  search->add_option("--max-new-tokens", s->hyde.sampling.max_new_tokens, "HyDE: longest generated document")->capture_default_str();
  search->add_option("--seed", s->hyde.sampling.seed, "HyDE: sample k of query i is seeded seed + i n + k")->capture_default_str();
  search->add_flag("--hyde-without-query", s->hyde_without_query, "HyDE: average the generated documents only (the paper adds the query)");
  search->add_flag("--normalize", s->hyde.normalize, "HyDE: L2-normalise the averaged query vector");
  search->add_option("--hyde-out", s->hyde_out, "HyDE: the generated documents as JSONL (default: the run's path + .hyde.jsonl)");
  search->add_option("--threads", s->threads, "libtorch threads (0 = all cores)")->capture_default_str();
  search->callback([s] {
    configure_threads(s->threads);
    // --run may replace only a TREC run (this command's earlier output), never another file.
    if (!s->run.empty())
      refuse_foreign_output_file(s->run, "a TREC run", [](const std::filesystem::path& p) { return !retrieval::read_trec_run(p).empty(); });
    if (!s->hyde_lm.empty() || !s->endpoint.base_url.empty()) return run_hyde_search(*s);
    std::optional<retrieval::EmbeddingModel> encoder;
    if (!s->model.empty()) encoder.emplace(s->model);
    retrieval::SearchOptions options;
    options.model = encoder ? &*encoder : nullptr;
    options.instruction = s->instruction;
    options.batch = s->batch;
    options.query_vectors = s->query_vectors;
    options.ef_search = s->ef_search;
    options.nprobe = s->nprobe;
    options.shortlist = s->shortlist;
    options.rerank_dims = s->rerank_dims;
    const auto retriever = retrieval::open_index(s->index, options);
    if (!s->query.empty()) {
      if (retriever->kind() != "bm25") usage_error("--query TEXT searches a BM25 index; a dense one takes --queries and --run");
      const auto run = retriever->search({{"query", s->query}}, s->k);
      const auto& ranked = run.begin()->second;
      for (size_t i = 0; i < ranked.size(); ++i) fmt::print("{:>3}  {:<12} {:.4f}\n", i + 1, ranked[i].doc_id, ranked[i].score);
      return;
    }
    if (s->queries.empty() || s->run.empty()) usage_error("give --query TEXT, or --queries FILE with --run OUT");
    std::filesystem::path dir = s->queries;
    if (std::filesystem::is_regular_file(dir)) dir = dir.parent_path();
    const auto queries = retrieval::read_beir_collection(dir).queries;
    const auto run = retriever->search(queries, s->k);
    if (const int64_t flops = retriever->flops_per_query(); flops > 0)
      fmt::print("funnel: {} multiply-adds per query, {:.1f}x fewer than exhaustive search\n", flops,
                 static_cast<double>(retriever->exhaustive_flops_per_query()) / static_cast<double>(flops));
    retrieval::write_trec_run(s->run, run, s->tag);
    fmt::print("wrote {} ({} queries)\n", s->run, queries.size());
  });
}

void add_fuse(CLI::App& app) {
  struct FuseOptions {
    std::vector<std::string> runs;
    retrieval::FusionOptions fusion;
    std::string out, tag = "garden-fused";
  };
  auto f = std::make_shared<FuseOptions>();
  auto* fuse = app.add_subcommand("fuse", "fuse TREC runs of the same queries (reciprocal rank or weighted min-max scores)");
  fuse->add_option("--run", f->runs, "TREC run files (two or more)")->required();
  fuse->add_option("--method", f->fusion.method, "rrf | weighted")->capture_default_str();
  fuse->add_option("--k", f->fusion.k, "rrf constant")->capture_default_str();
  fuse->add_option("--weights", f->fusion.weights, "weighted: one weight per run")->delimiter(',');
  fuse->add_option("--depth", f->fusion.depth, "documents kept per query")->capture_default_str();
  fuse->add_option("--out", f->out, "fused TREC run")->required();
  fuse->add_option("--tag", f->tag)->capture_default_str();
  fuse->callback([f] {
    std::vector<retrieval::Run> runs;
    for (const auto& path : f->runs) runs.push_back(retrieval::read_trec_run(path));
    const retrieval::Run fused = retrieval::fuse_runs(runs, f->fusion);
    retrieval::write_trec_run(f->out, fused, f->tag);
    fmt::print("wrote {} ({} queries)\n", f->out, fused.size());
  });
}

}  // namespace

void register_index(CLI::App& app) {
  auto* index = app.add_subcommand("index", "build retrieval indexes");
  index->require_subcommand(1);
  add_index_build(*index);
  add_search(app);
  add_fuse(app);
}

}  // namespace garden::cli
