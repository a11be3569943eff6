// garden llm2vec-gen prepare | decode: what LLM2Vec-Gen (arXiv:2603.10913) needs beside its
// training objective (garden embed train --objective llm2vec-gen): the backbone's own answers
// with the teacher's embedding of each, and the text an embedding's soft prompt decodes into.
#include <fmt/core.h>

#include "garden/cli/common.h"
#include "garden/core/runtime.h"
#include "garden/text/corpus.h"
#include "garden/train/generative_embedding.h"

namespace garden::cli {

namespace {

void add_prepare(CLI::App& group) {
  auto job = std::make_shared<train::GenerativePrepareJob>();
  auto runtime = std::make_shared<RuntimeOptions>();
  auto* cmd = group.add_subcommand("prepare", "answer unlabeled queries with the frozen LM and embed each answer with the teacher");
  cmd->add_option("--model", job->backbone, "the language model whose answers the embeddings will compress (folder or run)")->required();
  cmd->add_option("--teacher", job->teacher, "the unsupervised teacher embedder, e.g. LLM2Vec of the same LM (folder or run)")->required();
  cmd->add_option("--queries", job->queries, "queries: one a line, or .jsonl objects with \"text\" (a BEIR queries.jsonl)")->required();
  cmd->add_option("--out", job->out, "the prepared queries (.jsonl) to write")->required();
  cmd->add_option("--max-new-tokens", job->answers.max_new_tokens, "longest answer (greedy decoding)")->capture_default_str();
  cmd->add_option("--batch", job->answers.batch, "queries answered and embedded at once")->capture_default_str();
  cmd->add_option("--cue", job->answers.cue, "what follows each query in the prompt (garden's WordNet chat model answers after ' Answer:'); give embed train the same --cue")
      ->capture_default_str();
  add_runtime_options(*cmd, *runtime);
  cmd->callback([job, runtime] {
    configure_threads(runtime->threads);
    const int64_t n = train::prepare_generative_file(*job);
    fmt::print("wrote {}: {} queries with their answers and teacher vectors (train with garden embed train --objective llm2vec-gen "
               "--model {} --train {}{})\n",
               job->out, n, job->backbone, job->out, job->answers.cue.empty() ? "" : " --cue '" + job->answers.cue + "'");
  });
}

void add_decode(CLI::App& group) {
  struct Options {
    std::string model, input, instruction;
    std::vector<std::string> texts;
    int64_t max_new_tokens = 32;
    RuntimeOptions runtime;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = group.add_subcommand("decode", "the text each input's embedding decodes into (its soft prompt read by the frozen LM)");
  cmd->add_option("--model", o->model, "a generative embedder (embed train --objective llm2vec-gen: folder or run)")->required();
  cmd->add_option("--text", o->texts, "a text to embed and decode (repeatable)");
  cmd->add_option("--input", o->input, "texts to decode, one a line");
  cmd->add_option("--instruction", o->instruction, "prefixed to every text, as when it was encoded");
  cmd->add_option("--max-new-tokens", o->max_new_tokens, "longest decoded text")->capture_default_str();
  add_runtime_options(*cmd, o->runtime);
  cmd->callback([o] {
    configure_threads(o->runtime.threads);
    auto texts = o->texts;
    if (!o->input.empty())
      for (auto& line : text::read_text_documents(o->input, text::TextUnit::line)) texts.push_back(std::move(line));
    const auto decoded = train::decode_generative(o->model, texts, o->instruction, o->max_new_tokens);
    for (size_t i = 0; i < texts.size(); ++i) fmt::print("{}\t{}\n", texts[i], decoded[i]);
  });
}

}  // namespace

void register_llm2vec_gen(CLI::App& app) {
  auto* group = app.add_subcommand("llm2vec-gen", "LLM2Vec-Gen: prepare a frozen LM's answers and teacher targets; decode embeddings");
  group->require_subcommand(1);
  add_prepare(*group);
  add_decode(*group);
}

}  // namespace garden::cli
