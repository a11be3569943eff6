// The reproduction framework: a reproduction states a paper's claim, runs its experiment at
// a scale (quick: minutes on 2 CPU cores; full: the larger setting), and returns its figures
// as tables and plots plus criteria whose pass/fail is computed from those figures. The
// verdict follows from the criteria (see decide_verdict); nothing is hard-coded.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "garden/core/json.h"

namespace garden::repro {

struct Context {
  std::string scale = "quick";  // quick | full
  uint64_t seed = 0;
  std::filesystem::path out;    // this reproduction's folder
  std::optional<std::filesystem::path> data_root;
  std::filesystem::path cache;
  torch::Device device = torch::kCPU;
  bool quiet = false;
};

struct Table {
  std::string title;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
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
struct Criterion {
  std::string description;
  bool passed = false;
  std::string measured;  // the numbers behind the decision
  bool gate = false;
};

enum class Verdict { reproduced, not_reproduced, inconclusive };
std::string to_string(Verdict v);

struct Result {
  std::string slug, title, claim;
  std::string scale;
  std::string data_used;
  std::vector<Table> tables;
  std::vector<Plot> plots;
  std::vector<std::string> rendered_plots;  // SVG files actually written
  std::vector<Criterion> criteria;
  std::vector<std::string> notes;
  Verdict verdict = Verdict::inconclusive;
  std::string verdict_reason;
  double seconds = 0;
  Json figures;  // every number, machine-readable (results.json)
};

// REPRODUCED when every criterion passes; INCONCLUSIVE when a gate criterion fails;
// otherwise NOT REPRODUCED. Fills verdict and verdict_reason.
void decide_verdict(Result& result);

struct Reproduction {
  std::string slug;
  std::string title;
  std::string paper;   // citation with arXiv id
  std::string claim;
  std::string budget;  // expected time of quick and full
  std::function<Result(const Context&)> run;
};

// Every implemented reproduction, in report order.
const std::vector<Reproduction>& registry();
const Reproduction* find_reproduction(const std::string& slug);

// Every paper garden follows (shared specs), with whether its reproduction is available.
struct PaperStatus {
  std::string slug, area;
  bool available;
};
std::vector<PaperStatus> paper_list();

// Runs one reproduction into ctx.out: results.json, report.md, plots. Returns the result.
Result run_reproduction(const Reproduction& reproduction, const Context& ctx);

}  // namespace garden::repro
