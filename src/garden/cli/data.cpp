// garden data prepare: the built-in corpora from Debian packages.
#include <fmt/core.h>

#include "garden/cli/common.h"
#include "garden/core/data_root.h"
#include "garden/core/json.h"
#include "garden/text/prepare.h"

namespace garden::cli {

void register_data(CLI::App& app) {
  auto* data = app.add_subcommand("data", "built-in data sets");
  data->require_subcommand(1);
  auto* prepare = data->add_subcommand("prepare", "build the default text corpora (bible-kjv, wordnet-base) with train/valid/test splits");
  struct Options {
    std::string out, cache;
    bool force = false;
  };
  auto options = std::make_shared<Options>();
  prepare->add_option("--out", options->out, "output folder (default: <cache>/corpora/default)");
  prepare->add_option("--cache", options->cache, "cache folder (default: $GARDEN_CACHE or ~/.cache/garden)");
  prepare->add_flag("--force", options->force, "rebuild even if the folder is complete");
  prepare->callback([options] {
    const auto out = options->out.empty() ? text::default_corpus_dir(resolve_cache_dir(options->cache)) : std::filesystem::path(options->out);
    auto corpus = text::prepare_default_corpus(out, options->force);
    auto manifest = read_json_file(corpus.dir / "manifest.json");
    fmt::print("corpus: {}\n", corpus.dir.string());
    for (const auto& [split, info] : manifest["files"].items())
      fmt::print("  {:<5} {:>10} bytes  sha256 {}\n", split, info["bytes"].get<int64_t>(), info["sha256"].get<std::string>().substr(0, 16));
  });
}

}  // namespace garden::cli
