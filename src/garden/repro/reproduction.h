// The reproduction framework: a reproduction states a paper's claim, runs its experiment at
// a scale and returns its figures (machine-readable JSON), tables and plots. Its criteria are
// a separate pure function of those figures, so that tests can feed hand-made figures that
// pass and that fail each one; the verdict follows from the criteria (decide_verdict) and is
// never hard-coded. Each paper's file registers itself with one `Registration` beside its
// code; helpers for criteria, tables and timing are in repro/toolkit.h.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "garden/core/artifact_cache.h"
#include "garden/core/json.h"
#include "garden/text/prepare.h"

namespace garden::repro {

// smoke: seconds, the whole pipeline on toy sizes (for the test suite; the verdict means
// nothing); quick: the recorded small-scale run, at most 10 minutes on 2 CPU cores; full:
// the larger setting, for a GPU or a long CPU run.
enum class Scale { smoke, quick, full };
std::string to_string(Scale scale);
// "smoke" | "quick" | "full"; a usage error naming --scale otherwise.
Scale parse_scale(const std::string& text);

struct Context {
  Scale scale = Scale::quick;
  uint64_t seed = 0;
  std::filesystem::path out;    // this reproduction's folder
  std::optional<std::filesystem::path> data_root;
  std::filesystem::path cache;  // shared artifacts (the base LM, built-in corpora)
  std::string base_recipe = "v1";  // the shared base LM of the embedding reproductions (train::base_lm_recipe)
  std::filesystem::path wordnet = text::kWordnetDir;
  torch::Device device = torch::kCPU;
  bool quiet = false;
  // One value per scale, e.g. ctx.pick(20, 450, 6000) training steps.
  template <typename T>
  T pick(T smoke, T quick, T full) const {
    return scale == Scale::smoke ? smoke : scale == Scale::quick ? quick : full;
  }
};

// A table cell: the text shown in reports and the value written to results.json, made from
// the same number (toolkit.h: num, pct, integer, text, missing).
struct Cell {
  std::string text;
  Json value;
  Cell() : value(nullptr) {}
  Cell(std::string s) : text(s), value(std::move(s)) {}  // NOLINT: a plain text cell
  Cell(const char* s) : Cell(std::string(s)) {}          // NOLINT
  Cell(std::string shown, Json v) : text(std::move(shown)), value(std::move(v)) {}
};

struct Table {
  std::string title;
  std::vector<std::string> header;
  std::vector<std::vector<Cell>> rows;
  // {"title", "header", "rows": [[value, ...], ...]}: the cells' values, as results.json holds them.
  Json to_json() const;
};

struct Series {
  std::string name;
  std::vector<double> x, y;
};

struct Plot {
  std::string file;  // e.g. "loss.svg", written in the reproduction's folder
  std::string title, xlabel, ylabel;
  std::vector<Series> series;
  bool log_y = false;
  bool log_x = false;
};

// One check of the paper's claim. `gate` criteria decide INCONCLUSIVE when they fail
// (e.g. "the baseline forms an attention sink"): without them the claim cannot be tested.
// A criterion with a precondition of its own that failed is not judged: it is reported and
// leaves the verdict alone (a sink-removal check where that setting formed no sink, while
// another setting of the same run tests the claim).
struct Criterion {
  std::string description;
  bool passed = false;
  std::string measured;  // the numbers behind the decision
  bool gate = false;
  bool judged = true;
};
// "pass", "fail" or "not judged".
std::string outcome(const Criterion& c);

enum class Verdict { reproduced, not_reproduced, inconclusive };
std::string to_string(Verdict v);

struct Result {
  std::string slug, title, claim;
  Scale scale = Scale::quick;
  uint64_t seed = 0;
  std::string data_used;
  std::string base_recipe;  // the shared base LM's recipe, where the reproduction uses it
  std::vector<Table> tables;
  std::vector<Plot> plots;
  std::vector<std::string> rendered_plots;  // SVG files actually written
  std::vector<Criterion> criteria;
  std::vector<std::string> notes;
  Verdict verdict = Verdict::inconclusive;
  std::string verdict_reason;
  double seconds = 0;
  std::vector<Artifact> artifacts;  // the cached artifacts it built or reused, in order
  Json figures = Json::object();  // every number the criteria read (results.json)
};

// Over the judged criteria: REPRODUCED when every one passes; INCONCLUSIVE when a gate
// criterion fails or none was judged; otherwise NOT REPRODUCED. Fills verdict and verdict_reason.
void decide_verdict(Result& result);

struct Reproduction {
  std::string slug;
  std::string title;
  std::string paper;   // citation with arXiv id
  std::string claim;
  std::string budget;  // expected time of quick and full
  // Raised whenever a change to the code alters the figures of a seeded run; the page in
  // docs/repro/ names the version its figures came from, and a test flags a stale page.
  int figures_version = 1;
  // Runs the experiment: fills data_used, figures, tables, plots and notes.
  std::function<Result(const Context&)> run;
  // The paper's criteria, computed from the figures alone (throws when one is missing).
  std::function<std::vector<Criterion>(const Json& figures)> criteria;
};

// Adds a reproduction to the registry when its file's static objects are initialised:
// `const Registration registered{{.slug = ..., .run = run, .criteria = criteria}};`
struct Registration {
  explicit Registration(Reproduction reproduction);
};

// Every paper garden follows (the shared specs), in report order.
struct Paper {
  std::string slug, area;
};
const std::vector<Paper>& papers();

// Every registered reproduction, in the order of papers().
std::vector<const Reproduction*> registry();
const Reproduction* find_reproduction(const std::string& slug);

// The owner named in the marker of a reproductions' output folder (--out) and, followed by
// the slug, of each reproduction's folder inside it (core/files.h: claim_output_dir).
inline constexpr const char* kOutputOwner = "garden repro";

// Runs one reproduction into ctx.out (a folder inside the reproductions' output folder):
// results.json, report.md, plots. Both folders must be new, empty or garden's own earlier
// output of the same kind; anything else is refused before any work. Returns the result.
Result run_reproduction(const Reproduction& reproduction, const Context& ctx);

}  // namespace garden::repro
