// garden dsi synth-entities | build-ids | train | search: a Differentiable Search Index (dsi.md).
#include <fmt/core.h>

#include "garden/cli/common.h"
#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/core/runtime.h"
#include "garden/dsi/jobs.h"
#include "garden/dsi/synth_entities.h"
#include "garden/train/trainer.h"

namespace garden::cli {

namespace {

using namespace garden::dsi;

void add_synth_entities(CLI::App& group) {
  static SynthEntitiesOptions o;
  static std::string out;
  auto* cmd = group.add_subcommand("synth-entities", "the synthetic entity collection of the DSI reproduction (BEIR layout, train and test qrels)");
  cmd->add_option("--documents", o.documents, "entities, one document each (dsi.md: 1000)");
  cmd->add_option("--indexed-only", o.indexed_only_share, "share of documents without training queries (dsi.md: 0.2; 0: every document has training queries and one test query, as ance.md)");
  cmd->add_option("--train-queries", o.train_queries, "training queries per other document (dsi.md: 3)");
  cmd->add_option("--seed", o.seed, "seed of the words, entities and split");
  cmd->add_option("--out", out, "collection folder to write")->required();
  cmd->callback([] {
    claim_output_dir(out, "garden dsi synth-entities");
    const auto entities = generate_synth_entities(o);
    write_entity_collection(entities, out);
    fmt::print("wrote {}: {} documents, {} training queries, {} test queries\n", out, entities.collection.corpus.size(),
               entities.train_qrels.size(), entities.collection.qrels.size());
  });
}

void add_build_ids(CLI::App& group) {
  static BuildIdsOptions o;
  static std::string collection, scheme = "semantic", out;
  auto* cmd = group.add_subcommand("build-ids", "docids for a collection: atomic, naive or semantic (hierarchical k-means)");
  cmd->add_option("--collection", collection, "BEIR folder")->required();
  cmd->add_option("--scheme", scheme, "atomic | naive | semantic")->check(CLI::IsMember({"atomic", "naive", "semantic"}));
  cmd->add_option("--k", o.semantic.k, "semantic: clusters per level (dsi.md: 10)");
  cmd->add_option("--c", o.semantic.c, "semantic: most documents in a leaf cluster (dsi.md: 100; 20 for 1000 documents)");
  cmd->add_option("--embedder", o.embedder, "semantic: tfidf (TF-IDF + SVD) or an embedding model folder");
  cmd->add_option("--dims", o.dims, "semantic with tfidf: SVD dimensions (dsi.md: 64)");
  cmd->add_option("--seed", o.seed, "seed of the arbitrary numbering and of k-means");
  cmd->add_option("--out", out, "docid_map.tsv to write")->required();
  cmd->callback([] {
    configure_threads(0);
    o.scheme = parse_docid_scheme(scheme);
    refuse_foreign_output_file(out, "a docid map", [](const std::filesystem::path& p) { return !read_docid_map(p).docids.empty(); });
    const auto map = build_docids(read_dsi_data(collection), o);
    write_docid_map(map, out);
    fmt::print("wrote {}: {} {} docids over {} symbols, up to {} long\n", out, map.docids.size(), to_string(map.scheme), map.symbols,
               map.max_length());
  });
}

void add_train(CLI::App& group) {
  static TrainDsiRequest r;
  static std::string collection, ids, out, mode = "multitask", representation = "direct";
  static int threads = 0;
  r.job.train.steps = 2000;
  r.job.train.batch = 64;
  r.job.train.lr = 1e-3;
  r.job.train.warmup = 200;
  r.job.train.eval_every = 0;
  auto* cmd = group.add_subcommand("train", "train a DSI (prefix LM: text -> docid) on indexing and retrieval examples");
  cmd->add_option("--collection", collection, "BEIR folder with qrels/train.tsv")->required();
  cmd->add_option("--ids", ids, "docid map (garden dsi build-ids)")->required();
  cmd->add_option("--tokenizer", r.tokenizer, "SentencePiece model (default: train one on the documents and training queries)");
  cmd->add_option("--vocab", r.vocab, "pieces of the trained tokenizer (dsi.md: 2000)");
  cmd->add_option("--mode", mode, "multitask | sequential | index-only | retrieval-only")
      ->check(CLI::IsMember({"multitask", "sequential", "index-only", "retrieval-only"}));
  cmd->add_option("--ratio", r.job.stream.ratio, "r: indexing per retrieval example (dsi.md: 8; the paper's best 32)");
  cmd->add_option("--doc-representation", representation, "direct (first L tokens) | set | chunk")
      ->check(CLI::IsMember({"direct", "set", "chunk"}));
  cmd->add_option("--doc-tokens", r.job.stream.doc_tokens, "L: document tokens per indexing example (dsi.md: 24)");
  cmd->add_option("--d-model", r.job.model.d_model, "model width (dsi.md: 128)");
  cmd->add_option("--layers", r.job.model.layers, "layers (dsi.md: 4, as 2 + 2 of an encoder-decoder)");
  cmd->add_option("--heads", r.job.model.heads, "attention heads (dsi.md: 4)");
  cmd->add_option("--d-ff", r.job.model.d_ff, "FFN width (dsi.md: 512)");
  cmd->add_option("--steps", r.job.train.steps, "optimizer steps");
  cmd->add_option("--batch", r.job.train.batch, "examples per step (dsi.md: 64)");
  cmd->add_option("--lr", r.job.train.lr, "peak learning rate (dsi.md: 1e-3)");
  cmd->add_option("--warmup", r.job.train.warmup, "linear warmup steps (dsi.md: 200)");
  cmd->add_option("--bf16", r.job.train.bf16, "bf16 autocast (fast where the CPU has AVX512-BF16 or AMX, and on CUDA)");
  cmd->add_option("--checkpoint-every", r.job.train.checkpoint_every, "steps between checkpoints");
  cmd->add_option("--seed", r.job.seed, "initial weights and the example stream");
  cmd->add_option("--threads", threads, "CPU threads (0 = all cores)");
  cmd->add_option("--out", out, "run folder")->required();
  cmd->add_flag("--resume", r.resume, "continue from the run folder's latest checkpoint");
  cmd->callback([] {
    configure_threads(threads);
    r.collection = collection;
    r.ids = ids;
    r.out = out;
    r.job.stream.mode = parse_stream_mode(mode);
    r.job.stream.representation = parse_doc_representation(representation);
    r.job.train.seed = r.job.seed;
    const auto outcome = train_dsi_request(r);
    if (outcome.result.interrupted || train::interrupted_by_signal())
      throw Error(fmt::format("interrupted after step {}; continue with --resume", outcome.result.steps_done));
    fmt::print("trained a DSI of {} parameters on {} documents and {} training queries: {} steps, final loss {:.4f}, {:.0f} s\n"
               "model: {} (usable as --model)\n",
               outcome.parameters, outcome.documents, outcome.training_queries, outcome.result.steps_done,
               outcome.result.final_train_loss, outcome.result.seconds, outcome.model.string());
  });
}

void add_search(CLI::App& group) {
  static SearchDsiRequest r;
  static std::string model, collection, constrained = "on", run_out;
  static int threads = 0;
  auto* cmd = group.add_subcommand("search", "decode docids for a collection's test queries and report Hits@1/10");
  cmd->add_option("--model", model, "a DSI model or run folder (garden dsi train)")->required();
  cmd->add_option("--collection", collection, "the BEIR folder it was trained on")->required();
  cmd->add_option("--split", r.split, "qrels split of the test queries");
  cmd->add_option("--beam", r.search.beam, "beam width = ranked list length (dsi.md: 10)");
  cmd->add_option("--constrained", constrained, "on: only valid docids (GENRE's prefix trie); off: as the DSI paper")
      ->check(CLI::IsMember({"on", "off"}));
  cmd->add_flag("--memorisation", r.memorisation, "also decode every document's indexing input (indexing Hits@1)");
  cmd->add_option("--run", run_out, "write the rankings as a TREC run");
  cmd->add_option("--threads", threads, "CPU threads (0 = all cores)");
  cmd->callback([] {
    configure_threads(threads);
    r.model = model;
    r.collection = collection;
    r.search.constrained = constrained == "on";
    r.run_out = run_out;
    const auto o = search_dsi_request(r);
    const auto row = [](const char* name, const HitsRow& h) {
      fmt::print("  {:<34} {:>7} {:>8.1f} {:>8.1f}\n", name, h.queries, 100 * h.hits1, 100 * h.hits10);
    };
    fmt::print("{} queries, beam {}, {} decoding, {:.1f} s\n  {:<34} {:>7} {:>8} {:>8}\n", o.queries, r.search.beam,
               r.search.constrained ? "constrained" : "unconstrained", o.seconds, "queries", "n", "Hits@1", "Hits@10");
    row("all", o.scores.all);
    row("document seen in retrieval training", o.scores.seen);
    row("document only indexed", o.scores.indexed_only);
    fmt::print("invalid docids among those returned: {:.1f}%\n", 100 * o.scores.invalid_share);
    if (o.indexing_hits1 >= 0) fmt::print("memorisation (indexing Hits@1 over every document): {:.1f}%\n", 100 * o.indexing_hits1);
    if (!run_out.empty()) fmt::print("run: {}\n", run_out);
  });
}

}  // namespace

void register_dsi(CLI::App& app) {
  auto* group = app.add_subcommand("dsi", "Differentiable Search Index: docids, indexing as training, constrained decoding");
  group->require_subcommand(1);
  add_synth_entities(*group);
  add_build_ids(*group);
  add_train(*group);
  add_search(*group);
}

}  // namespace garden::cli
