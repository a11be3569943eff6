// garden wiki: the LLM Wiki (wiki/wiki.h, docs/wiki.md): init, ingest, query, lint, and the
// evolving-facts generator of its reproduction; garden rag query, the RAG baseline over the same
// sources with the same reader and token counter, is registered by cli/rag.cpp.
#include <fmt/core.h>
#include <fmt/format.h>

#include <memory>

#include "garden/agent/chat_client.h"
#include "garden/cli/common.h"
#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/wiki/evolving_facts.h"
#include "garden/wiki/wiki.h"

namespace garden::cli {

namespace {

namespace fs = std::filesystem;

void print_claims(const std::vector<wiki::Claim>& claims) {
  for (const auto& c : claims) fmt::print("  {}\n", wiki::claim_line(c));
}

struct WikiCommand {
  std::string root = ".", backend = "extractor", model, api_key, question, facts_out;
  std::vector<std::string> files;
  bool save = false, fix = false, json = false;
  wiki::QueryOptions query;
  wiki::EvolvingFactsOptions facts;
};

void run_ingest(const WikiCommand& c) {
  std::unique_ptr<agent::ChatClient> client;
  wiki::Backend backend;
  if (c.backend.starts_with("llm:")) {
    if (c.model.empty()) usage_error("--backend llm:URL needs --model (the name the endpoint serves)");
    agent::ChatClientOptions options;
    options.base_url = c.backend.substr(4);
    options.model = c.model;
    options.api_key = c.api_key;
    options.max_tokens = 512;
    client = std::make_unique<agent::ChatClient>(options);
    backend.model = client.get();
  } else if (c.backend != "extractor") {
    usage_error(fmt::format("--backend {}: extractor or llm:<base URL>", c.backend));
  }
  // Folders are ingested file by file in name order; everything is checked before any work.
  std::vector<fs::path> files;
  for (const auto& f : c.files) {
    if (fs::is_directory(f)) {
      std::vector<fs::path> inside;
      for (const auto& entry : fs::directory_iterator(f))
        if (entry.is_regular_file() && !entry.path().filename().string().starts_with(".")) inside.push_back(entry.path());
      std::sort(inside.begin(), inside.end());
      files.insert(files.end(), inside.begin(), inside.end());
    } else if (fs::is_regular_file(f)) {
      files.push_back(f);
    } else {
      usage_error(fmt::format("{}: no such file or folder to ingest", f));
    }
  }
  wiki::require_wiki(c.root);
  const auto date = today_utc();
  int64_t ingested = 0, unchanged = 0, read = 0, written = 0;
  for (const auto& file : files) {
    const auto r = wiki::ingest(c.root, file, backend, date);
    read += r.tokens_read;
    written += r.tokens_written;
    if (r.unchanged) {
      ++unchanged;
      if (files.size() == 1) fmt::print("{}: already ingested (same content); nothing changed\n", file.string());
      continue;
    }
    ++ingested;
    if (files.size() <= 20)
      fmt::print("{} -> [[{}]]: {} claims{}, {} pages created, {} updated, {} superseded, {} in conflict\n", file.string(), r.source_id, r.claims,
                 r.rejected_claims ? fmt::format(" ({} rejected: the source does not state them)", r.rejected_claims) : "", r.created.size(),
                 r.updated.size(), r.superseded, r.conflicts);
  }
  fmt::print("ingested {} source(s), {} unchanged; tokens read {}, written {}\n", ingested, unchanged, read, written);
}

void run_query(const WikiCommand& c) {
  const auto r = wiki::query(c.root, c.question, c.query, c.save, today_utc());
  if (c.json) {
    Json j{{"question", c.question}, {"answer", r.answer}, {"tokens_read", r.tokens_read}, {"pages_read", r.pages_read},
           {"index_lines", r.index_lines}, {"saved", r.saved}};
    j["evidence"] = Json::array();
    for (const auto& e : r.evidence) j["evidence"].push_back(wiki::claim_line(e));
    fmt::print("{}\n", j.dump(1));
    return;
  }
  fmt::print("index lines read:\n");
  for (const auto& line : r.index_lines) fmt::print("  {}\n", line);
  fmt::print("pages read: {}\n", r.pages_read.empty() ? "none" : fmt::format("{}", fmt::join(r.pages_read, ", ")));
  if (r.answer.empty())
    fmt::print("answer: none (the template reader answers the evolving-facts question forms; read the pages above)\n");
  else
    fmt::print("answer: {}\n", r.answer);
  if (!r.evidence.empty()) {
    fmt::print("citations:\n");
    print_claims(r.evidence);
  }
  fmt::print("tokens read: {}\n", r.tokens_read);
  if (!r.saved.empty()) fmt::print("saved: wiki/syntheses/{}.md\n", r.saved);
}

void run_lint(const WikiCommand& c) {
  const auto r = wiki::lint(c.root, c.fix, today_utc());
  if (c.json) {
    Json j{{"pages", r.pages}, {"fixed", r.fixed}, {"problems", Json::array()}};
    for (const auto& p : r.problems) j["problems"].push_back({{"kind", p.kind}, {"page", p.page}, {"detail", p.detail}});
    fmt::print("{}\n", j.dump(1));
  } else {
    for (const auto& p : r.problems) fmt::print("{}: {}: {}\n", p.kind, p.page.empty() ? "(wiki)" : p.page, p.detail);
    fmt::print("{} problem(s) in {} pages{}\n", r.problems.size(), r.pages, c.fix ? fmt::format("; {} file(s) rewritten by --fix", r.fixed) : "");
  }
  if (!r.problems.empty()) throw Error(fmt::format("{}: lint found {} problem(s)", c.root, r.problems.size()));
}

void run_evolving_facts(const WikiCommand& c) {
  claim_output_dir(c.facts_out, "garden wiki evolving-facts");
  const auto facts = wiki::generate_evolving_facts(c.facts);
  wiki::write_evolving_facts(facts, c.facts_out);
  fmt::print("wrote {}: {} sources, {} questions, {} statements ({} updates, {} restatements), {} same-date contradictions\n", c.facts_out,
             facts.sources.size(), facts.questions.size(), facts.statements, facts.updates, facts.restatements, facts.contradictions.size());
}

}  // namespace

void register_wiki(CLI::App& app) {
  auto* wiki_cmd = app.add_subcommand("wiki", "the LLM Wiki: sources compiled into interlinked markdown pages (docs/wiki.md)");
  wiki_cmd->require_subcommand(1);
  auto c = std::make_shared<WikiCommand>();
  const auto add_root = [&](CLI::App* sub) { sub->add_option("--wiki", c->root, "the wiki's folder")->capture_default_str(); };

  auto* init = wiki_cmd->add_subcommand("init", "create raw/, wiki/{sources,entities,concepts,syntheses}/, index.md, log.md and WIKI.md");
  init->add_option("dir", c->root, "the new wiki's folder (absent or empty)")->required();
  init->callback([c] {
    wiki::init_wiki(c->root);
    fmt::print("created the wiki {} (read {}/WIKI.md)\n", c->root, c->root);
  });

  auto* ingest = wiki_cmd->add_subcommand("ingest", "copy sources into raw/ and compile them into pages");
  ingest->add_option("files", c->files, "source files or folders of them")->required();
  add_root(ingest);
  ingest->add_option("--backend", c->backend, "extractor (rule-based, deterministic) | llm:<base URL of an OpenAI-compatible endpoint>")
      ->capture_default_str();
  ingest->add_option("--model", c->model, "with llm:<URL>: the model name requests carry");
  ingest->add_option("--api-key", c->api_key, "with llm:<URL>: sent as Authorization: Bearer KEY");
  ingest->callback([c] { run_ingest(*c); });

  auto* query = wiki_cmd->add_subcommand("query", "answer from the wiki: index first, then pages and their links, within a token budget");
  query->add_option("question", c->question, "the question")->required();
  add_root(query);
  query->add_option("--budget", c->query.budget, "tokens of index lines and pages to read at most")->capture_default_str();
  query->add_option("--index-hits", c->query.index_hits, "index lines to read (BM25 over index.md)")->capture_default_str();
  query->add_option("--max-pages", c->query.max_pages, "pages to open at most")->capture_default_str();
  query->add_flag("--save", c->save, "file the answer as a synthesis page (and its index line and log heading)");
  query->add_flag("--json", c->json, "print the result as JSON");
  query->callback([c] { run_query(*c); });

  auto* lint = wiki_cmd->add_subcommand("lint", "check links, orphans, titles, summaries, citations, contradictions and stale claims");
  add_root(lint);
  lint->add_flag("--fix", c->fix, "rebuild index.md and re-derive entity and concept pages from their claims first");
  lint->add_flag("--json", c->json, "print the problems as JSON");
  lint->callback([c] { run_lint(*c); });

  auto* facts = wiki_cmd->add_subcommand("evolving-facts", "generate the evolving-facts collection of the llm-wiki reproduction");
  facts->add_option("--out", c->facts_out, "a new folder: sources/, questions.jsonl, truth.json")->required();
  facts->add_option("--seed", c->facts.seed)->capture_default_str();
  facts->add_option("--towns", c->facts.towns)->capture_default_str();
  facts->add_option("--sources", c->facts.sources)->capture_default_str();
  facts->add_option("--rivers", c->facts.rivers)->capture_default_str();
  facts->add_option("--contradictions", c->facts.contradictions)->capture_default_str();
  facts->add_option("--questions", c->facts.questions)->capture_default_str();
  facts->add_option("--distractors", c->facts.distractors_per_source, "distractor sentences per source")->capture_default_str();
  facts->callback([c] { run_evolving_facts(*c); });
}

}  // namespace garden::cli
