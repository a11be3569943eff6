// garden repro list | run <slug> | all.
#include <fmt/core.h>

#include "garden/cli/common.h"
#include "garden/core/data_root.h"
#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/core/progress.h"
#include "garden/core/runtime.h"
#include "garden/repro/report.h"
#include "garden/repro/reproduction.h"

namespace garden::cli {

namespace {

struct ReproOptions {
  RuntimeOptions runtime;
  std::string slug, scale = "quick", out = "runs/repro", base = "v1";
  uint64_t seed = 0;
};

repro::Context make_context(const ReproOptions& o) {
  configure_threads(o.runtime.threads);
  repro::Context ctx;
  ctx.scale = repro::parse_scale(o.scale);
  ctx.seed = o.seed;
  ctx.base_recipe = o.base;
  ctx.data_root = resolve_data_root(o.runtime.data);
  ctx.cache = resolve_cache_dir(o.runtime.cache);
  ctx.device = resolve_device(o.runtime.device);
  return ctx;
}

void print_result(const repro::Result& r, const std::filesystem::path& dir) {
  fmt::print("\n{} — {}\n", r.slug, r.title);
  for (const auto& table : r.tables) {
    fmt::print("\n{}\n", table.title);
    std::vector<size_t> width(table.header.size(), 0);
    for (size_t c = 0; c < table.header.size(); ++c) width[c] = table.header[c].size();
    for (const auto& row : table.rows)
      for (size_t c = 0; c < row.size() && c < width.size(); ++c) width[c] = std::max(width[c], row[c].text.size());
    auto print_row = [&](const std::vector<std::string>& row) {
      for (size_t c = 0; c < row.size(); ++c) fmt::print("{:<{}}  ", row[c], c < width.size() ? width[c] : 0);
      fmt::print("\n");
    };
    print_row(table.header);
    for (const auto& row : table.rows) {
      std::vector<std::string> texts;
      for (const auto& cell : row) texts.push_back(cell.text);
      print_row(texts);
    }
  }
  fmt::print("\ncriteria:\n");
  for (const auto& c : r.criteria)
    fmt::print("  [{}] {}{}: {}\n", !c.judged ? "n/a" : c.passed ? "pass" : "FAIL", c.description, c.gate ? " (precondition)" : "", c.measured);
  fmt::print("\nverdict: {} — {}\n({}; data: {})\nreport: {}\n", repro::to_string(r.verdict), r.verdict_reason,
             format_duration(r.seconds), r.data_used, (dir / "report.md").string());
  // Progress goes to stderr; flushing here keeps a run's verdict ahead of the next run's
  // progress when both streams go to one file.
  std::fflush(stdout);
}

}  // namespace

void register_repro(CLI::App& app) {
  auto* repro_cmd = app.add_subcommand("repro", "reproduce the papers' headline findings");
  repro_cmd->require_subcommand(1);

  auto* list = repro_cmd->add_subcommand("list", "every paper and whether its reproduction is available");
  list->callback([] {
    for (const auto& paper : repro::papers()) {
      const auto* r = repro::find_reproduction(paper.slug);
      fmt::print("{:<24} {:<22} {}\n", paper.slug, paper.area, r ? "available  (" + r->budget + ")" : "planned");
    }
  });

  auto o = std::make_shared<ReproOptions>();
  auto* run = repro_cmd->add_subcommand("run", "run one reproduction");
  run->add_option("slug", o->slug, "paper slug (garden repro list)")->required();
  run->add_option("--scale", o->scale, "smoke (seconds, toy sizes) | quick | full")->capture_default_str();
  run->add_option("--seed", o->seed)->capture_default_str();
  run->add_option("--out", o->out, "output folder (the paper's folder is created inside)")->capture_default_str();
  run->add_option("--base", o->base, "shared base LM of the embedding reproductions: v1 | v2 (garden lm base --recipe)")
      ->check(CLI::IsMember({"v1", "v2"}))
      ->capture_default_str();
  add_runtime_options(*run, o->runtime);
  run->callback([o] {
    const auto* reproduction = repro::find_reproduction(o->slug);
    if (!reproduction) {
      bool known = false;
      for (const auto& p : repro::papers()) known = known || p.slug == o->slug;
      if (known) throw Error("reproduction '" + o->slug + "' is planned but not implemented yet (garden repro list)");
      usage_error("unknown reproduction '" + o->slug + "' (garden repro list shows the slugs)");
    }
    auto ctx = make_context(*o);
    ctx.out = std::filesystem::path(o->out) / o->slug;
    auto result = repro::run_reproduction(*reproduction, ctx);
    print_result(result, ctx.out);
  });

  auto a = std::make_shared<ReproOptions>();
  auto* all = repro_cmd->add_subcommand("all", "run every available reproduction and write report.md + report.html");
  all->add_option("--scale", a->scale, "smoke | quick | full")->capture_default_str();
  all->add_option("--seed", a->seed)->capture_default_str();
  all->add_option("--out", a->out, "output folder")->capture_default_str();
  all->add_option("--base", a->base, "shared base LM of the embedding reproductions: v1 | v2")
      ->check(CLI::IsMember({"v1", "v2"}))
      ->capture_default_str();
  add_runtime_options(*all, a->runtime);
  all->callback([a] {
    auto ctx = make_context(*a);
    claim_output_dir(a->out, repro::kOutputOwner);  // before any row is written there
    std::vector<repro::ReportEntry> entries;
    int failures = 0;
    for (const auto* reproduction : repro::registry()) {
      auto paper_ctx = ctx;
      paper_ctx.out = std::filesystem::path(a->out) / reproduction->slug;
      repro::ReportEntry entry{reproduction->slug, reproduction->slug, std::nullopt, ""};
      // One failing reproduction (a missing package, a full disk) is reported in its row;
      // the others still run.
      try {
        entry.result = repro::run_reproduction(*reproduction, paper_ctx);
        print_result(*entry.result, paper_ctx.out);
      } catch (const std::exception& e) {
        entry.error = e.what();
        ++failures;
        fmt::print(stderr, "garden: error: {}: {}\n", reproduction->slug, e.what());
      }
      entries.push_back(std::move(entry));
    }
    repro::write_combined_report(entries, a->out);
    fmt::print("\nreport: {}  and  {}\n", (std::filesystem::path(a->out) / "report.html").string(),
               (std::filesystem::path(a->out) / "report.md").string());
    if (failures > 0) throw Error(fmt::format("{} reproduction(s) failed; their rows in the report say why", failures));
  });
}

}  // namespace garden::cli
