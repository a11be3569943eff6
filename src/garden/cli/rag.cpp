// garden rag: answer questions with one GritLM as retriever and reader, with or without
// cached key/value states (retrieval/rag.h).
#include <fmt/core.h>

#include "garden/cli/common.h"
#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/core/json.h"
#include "garden/core/runtime.h"
#include "garden/retrieval/collection.h"
#include "garden/retrieval/dense.h"
#include "garden/retrieval/model_vectors.h"
#include "garden/retrieval/rag.h"
#include "garden/retrieval/retriever.h"
#include "garden/train/run_folder.h"
#include "garden/wiki/rag.h"

namespace garden::cli {

namespace {

// garden rag query: the LLM Wiki's baseline (wiki/rag.h), BM25 over chunks of the raw sources.
struct RagQueryCommand {
  std::string question, sources, wiki;
  int64_t k = 10, chunk_tokens = 128;
  bool json = false;
};

void run_rag_query(const RagQueryCommand& cmd) {
  if (cmd.sources.empty() == cmd.wiki.empty()) usage_error("give --wiki DIR (its raw/ sources) or --sources DIR");
  const auto sources = cmd.wiki.empty() ? std::filesystem::path(cmd.sources) : std::filesystem::path(cmd.wiki) / "raw";
  const wiki::RagBaseline rag(sources, cmd.chunk_tokens);
  const auto r = rag.query(cmd.question, cmd.k);
  if (cmd.json) {
    fmt::print("{}\n", Json{{"question", cmd.question}, {"answer", r.answer}, {"chunks", r.chunk_ids}, {"tokens_read", r.tokens_read}}.dump(1));
    return;
  }
  fmt::print("chunks read ({} of {}): ", r.chunk_ids.size(), rag.chunks());
  for (size_t i = 0; i < r.chunk_ids.size(); ++i) fmt::print("{}{}", i ? ", " : "", r.chunk_ids[i]);
  fmt::print("\nanswer: {}\ntokens read: {}\n", r.answer.empty() ? "none (the template reader answers the evolving-facts question forms)" : r.answer,
             r.tokens_read);
}

struct RagCommand {
  std::string model, index, query, queries, out, cache = "none", prompt = "query-first", instruction, query_states = "embedding";
  bool no_retrieval = false;
  int64_t max_new_tokens = 16;
  RuntimeOptions runtime;
};

// The index's documents in its row order, from the corpus its manifest names.
std::vector<std::string> index_documents(const std::filesystem::path& index_dir) {
  const auto corpus = retrieval::index_corpus(index_dir);
  if (corpus.empty()) throw Error(fmt::format("{}: its manifest names no corpus (build it with --corpus and --model)", index_dir.string()));
  std::vector<std::string> ids;
  const auto texts = retrieval::read_jsonl_texts(corpus, &ids);
  std::unordered_map<std::string, size_t> by_id;
  for (size_t i = 0; i < ids.size(); ++i) by_id.emplace(ids[i], i);
  std::vector<std::string> documents;
  const retrieval::DenseIndex index(index_dir);
  for (const auto& id : index.ids()) {
    const auto it = by_id.find(id);
    if (it == by_id.end()) throw Error(fmt::format("{}: document {} of the index is not in {}", index_dir.string(), id, corpus.string()));
    documents.push_back(texts[it->second]);
  }
  return documents;
}

void run_rag(const RagCommand& cmd) {
  configure_threads(cmd.runtime.threads);
  if (cmd.model.empty()) usage_error("--model is required (or use garden rag query, the BM25 baseline over a folder of sources)");
  if (cmd.query.empty() == cmd.queries.empty()) usage_error("give --query TEXT or --queries FILE (with --out)");
  if (!cmd.queries.empty() && cmd.out.empty()) usage_error("--queries writes its answers to --out FILE.jsonl");
  retrieval::RagOptions options;
  options.cache = retrieval::parse_rag_cache(cmd.cache);
  options.order = model::parse_rag_order(cmd.prompt);
  options.retrieve = !cmd.no_retrieval;
  options.instruction = cmd.instruction;
  options.query_states = retrieval::parse_states_attention(cmd.query_states);
  options.max_new_tokens = cmd.max_new_tokens;
  if (options.max_new_tokens < 1) usage_error("--max-new-tokens must be at least 1");
  if (options.cache != retrieval::RagCache::none && cmd.prompt != "query-first" && model::parse_rag_order(cmd.prompt) != retrieval::rag_order(options))
    usage_error(fmt::format("--cache {} puts the {} first; drop --prompt", cmd.cache,
                            retrieval::rag_order(options) == model::RagOrder::query_first ? "query" : "document"));
  const auto folder = train::model_folder(cmd.model);
  auto grit = model::load_grit(folder, resolve_device(cmd.runtime.device));
  std::vector<std::string> documents;
  std::filesystem::path index_dir;
  if (options.retrieve) {
    if (cmd.index.empty()) usage_error("--index (a dense index built with --model of this GritLM) is required; --no-retrieval answers without one");
    index_dir = cmd.index;
    if (retrieval::index_kind(index_dir) == "bm25") usage_error(cmd.index + " is a BM25 index; GritLM retrieves with its own embeddings");
    retrieval::refuse_other_model(read_json_file(index_dir / "manifest.json"), index_dir, cmd.model);
    documents = index_documents(index_dir);
    if (options.cache == retrieval::RagCache::doc || options.cache == retrieval::RagCache::query_doc ||
        options.cache == retrieval::RagCache::doc_query)
      retrieval::document_states_manifest(index_dir);  // an error naming the index when it has none
  }
  retrieval::GritRag rag(grit, index_dir, documents);
  std::vector<std::string> ids, texts;
  if (!cmd.query.empty()) {
    texts.push_back(cmd.query);
    ids.push_back("query");
  } else {
    texts = retrieval::read_jsonl_texts(cmd.queries, &ids);
  }
  std::string lines;
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto answer = rag.answer(texts[i], options);
    if (cmd.out.empty()) {
      if (answer.document >= 0) fmt::print("document: {}\n", documents[static_cast<size_t>(answer.document)]);
      fmt::print("answer: {}\n({:.3f} s, cache {})\n", answer.answer, answer.seconds, cmd.cache);
    }
    Json line{{"_id", ids[i]}, {"query", texts[i]}, {"answer", answer.answer}, {"seconds", answer.seconds}};
    if (answer.document >= 0) line["doc_row"] = answer.document;
    lines += line.dump() + "\n";
  }
  if (!cmd.out.empty()) {
    refuse_foreign_output_file(cmd.out, "answers of garden rag (.jsonl with \"answer\")", [](const std::filesystem::path& file) {
      return read_file(file).find("\"answer\"") != std::string::npos || read_file(file).empty();
    });
    write_file_atomic(cmd.out, lines);
    fmt::print("wrote {} ({} answers, cache {})\n", cmd.out, texts.size(), cmd.cache);
  }
}

}  // namespace

void register_rag(CLI::App& app) {
  auto cmd = std::make_shared<RagCommand>();
  auto* rag = app.add_subcommand("rag", "answer with a GritLM as retriever and reader, optionally from cached key/value states");
  rag->add_option("--model", cmd->model, "a GritLM (embed train --objective grit: folder or run)");
  rag->add_option("--index", cmd->index, "a dense index of the corpus built with this --model (--store-kv for the doc caches)");
  rag->add_option("--query", cmd->query, "one question");
  auto query_cmd = std::make_shared<RagQueryCommand>();
  auto* query = rag->add_subcommand("query", "the LLM Wiki's baseline: BM25 top k over chunks of raw sources, the wiki's reader and token count");
  query->add_option("question", query_cmd->question, "the question")->required();
  query->add_option("--wiki", query_cmd->wiki, "a wiki folder (its raw/ sources)");
  query->add_option("--sources", query_cmd->sources, "a folder of source files");
  query->add_option("--k", query_cmd->k, "chunks to read")->capture_default_str();
  query->add_option("--chunk-tokens", query_cmd->chunk_tokens, "tokens per chunk (whole lines)")->capture_default_str();
  query->add_flag("--json", query_cmd->json, "print the result as JSON");
  query->callback([query_cmd] { run_rag_query(*query_cmd); });
  rag->add_option("--queries", cmd->queries, "questions: a queries.jsonl ({\"_id\", \"text\"})");
  rag->add_option("--out", cmd->out, "with --queries: answers .jsonl to write");
  rag->add_option("--cache", cmd->cache,
                  "none | query (the query's states from its embedding pass) | doc (the document's, stored in the index) | query-doc | "
                  "doc-query (both, computed apart)")
      ->capture_default_str();
  rag->add_option("--prompt", cmd->prompt, "cache none: query-first | doc-first (the other modes fix the order)")->capture_default_str();
  rag->add_flag("--no-retrieval", cmd->no_retrieval, "answer from the question alone (the No RAG baseline)");
  rag->add_option("--instruction", cmd->instruction, "the query's embedding instruction (as in training)");
  rag->add_option("--query-states", cmd->query_states, "cached query states from: embedding (its embedding pass, as GritLM) | causal")
      ->capture_default_str();
  rag->add_option("--max-new-tokens", cmd->max_new_tokens, "longest answer (greedy)")->capture_default_str();
  // Not the runtime options: their --cache (the artifact cache) would clash with the caching mode.
  rag->add_option("--threads", cmd->runtime.threads, "libtorch threads (0 = all cores)")->capture_default_str();
  rag->add_option("--device", cmd->runtime.device, "auto | cpu | cuda")->capture_default_str();
  rag->require_subcommand(0, 1);
  rag->callback([cmd, rag] {
    if (rag->get_subcommands().empty()) run_rag(*cmd);  // garden rag query ran its own
  });
}

}  // namespace garden::cli
