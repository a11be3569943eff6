#include "garden/repro/reproduction.h"

#include <fmt/core.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/repro/report.h"
#include "garden/repro/toolkit.h"

namespace garden::repro {

namespace {

// Filled by the Registration objects of the paper files during static initialisation; a
// function-local static, so it exists before the first of them registers.
std::vector<Reproduction>& registered() {
  static std::vector<Reproduction> reproductions;
  return reproductions;
}

size_t paper_rank(const std::string& slug) {
  const auto& list = papers();
  for (size_t i = 0; i < list.size(); ++i)
    if (list[i].slug == slug) return i;
  return list.size();
}

}  // namespace

std::string to_string(Scale scale) {
  switch (scale) {
    case Scale::smoke: return "smoke";
    case Scale::quick: return "quick";
    case Scale::full: return "full";
  }
  return "";
}

Scale parse_scale(const std::string& text) {
  for (Scale s : {Scale::smoke, Scale::quick, Scale::full})
    if (to_string(s) == text) return s;
  usage_error("--scale must be smoke, quick or full, got '" + text + "'");
}

std::string to_string(Verdict v) {
  switch (v) {
    case Verdict::reproduced: return "REPRODUCED";
    case Verdict::not_reproduced: return "NOT REPRODUCED";
    case Verdict::inconclusive: return "INCONCLUSIVE";
  }
  return "";
}

Json Table::to_json() const {
  Json values = Json::array();
  for (const auto& row : rows) {
    Json r = Json::array();
    for (const auto& cell : row) r.push_back(cell.value);
    values.push_back(r);
  }
  return {{"title", title}, {"header", header}, {"rows", values}};
}

std::string outcome(const Criterion& c) { return !c.judged ? "not judged" : c.passed ? "pass" : "fail"; }

void decide_verdict(Result& result) {
  std::string failed_gates, failed, not_judged;
  bool any_judged = false;
  for (const auto& c : result.criteria) {
    if (!c.judged) {
      // Its label (before the conditions): a REPRODUCED that left a claim untested says which.
      not_judged += (not_judged.empty() ? "" : "; ") + c.description.substr(0, c.description.find(':'));
      continue;
    }
    any_judged = true;
    if (c.passed) continue;
    auto& list = c.gate ? failed_gates : failed;
    list += (list.empty() ? "" : "; ") + c.description;
  }
  if (!any_judged) {
    result.verdict = Verdict::inconclusive;
    result.verdict_reason = "no criteria were evaluated";
  } else if (!failed_gates.empty()) {
    result.verdict = Verdict::inconclusive;
    result.verdict_reason = "precondition not met: " + failed_gates;
  } else if (!failed.empty()) {
    result.verdict = Verdict::not_reproduced;
    result.verdict_reason = "failed: " + failed;
  } else {
    result.verdict = Verdict::reproduced;
    result.verdict_reason = not_judged.empty() ? "all criteria met" : "every judged criterion met; not judged: " + not_judged;
  }
}

Registration::Registration(Reproduction reproduction) {
  // A slug outside the paper list or registered twice is a programming error that no test
  // could report later: the registry would silently drop or shadow a paper.
  const bool known = paper_rank(reproduction.slug) < papers().size();
  const bool duplicate = std::any_of(registered().begin(), registered().end(),
                                     [&](const Reproduction& r) { return r.slug == reproduction.slug; });
  if (!known || duplicate || !reproduction.run || !reproduction.criteria) {
    std::fprintf(stderr, "garden: reproduction '%s' is %s\n", reproduction.slug.c_str(),
                 !known ? "not in the paper list" : duplicate ? "registered twice" : "missing its run or criteria");
    std::abort();
  }
  registered().push_back(std::move(reproduction));
}

const std::vector<Paper>& papers() {
  static const std::vector<Paper> list = {
      {"ance", "retrieval training"},       {"nv-embed", "embeddings"},
      {"matryoshka", "embeddings"},         {"gritlm", "embeddings + LM"},
      {"hyde", "retrieval"},                {"llm2vec", "embeddings"},
      {"llm2vec-gen", "embeddings"},        {"dsi", "generative retrieval"},
      {"limit", "retrieval theory"},        {"llm-wiki", "knowledge systems"},
      {"gated-attention", "architecture"},  {"rlvr-passk", "RL / evaluation"},
      {"roll-the-dice", "training objectives"}, {"shallow-alignment", "alignment"},
      {"resist-alignment", "alignment"},    {"lost-in-conversation", "evaluation"},
      {"model-collapse", "training dynamics"}, {"succinct-transformers", "theory"},
      {"agent-design", "agent systems"}};
  return list;
}

std::vector<const Reproduction*> registry() {
  std::vector<const Reproduction*> list;
  for (const auto& r : registered()) list.push_back(&r);
  std::sort(list.begin(), list.end(), [](const Reproduction* a, const Reproduction* b) { return paper_rank(a->slug) < paper_rank(b->slug); });
  return list;
}

const Reproduction* find_reproduction(const std::string& slug) {
  for (const auto& r : registered())
    if (r.slug == slug) return &r;
  return nullptr;
}

Result run_reproduction(const Reproduction& reproduction, const Context& ctx) {
  claim_output_dir(ctx.out.parent_path().empty() ? "." : ctx.out.parent_path(), kOutputOwner);
  claim_output_dir(ctx.out, std::string(kOutputOwner) + " " + reproduction.slug);
  const Stopwatch clock;
  const size_t artifacts_before = artifacts_used().size();
  Result result = reproduction.run(ctx);
  result.artifacts.assign(artifacts_used().begin() + static_cast<std::ptrdiff_t>(artifacts_before), artifacts_used().end());
  result.slug = reproduction.slug;
  result.title = reproduction.title;
  result.claim = reproduction.claim;
  result.scale = ctx.scale;
  result.seed = ctx.seed;
  result.criteria = reproduction.criteria(result.figures);
  result.seconds = clock.seconds();
  decide_verdict(result);
  for (const auto& plot : result.plots) {
    auto written = render_plot(plot, ctx.out);
    if (!written.empty()) result.rendered_plots.push_back(written);
  }
  write_result_files(result, reproduction.figures_version, ctx.out);
  return result;
}

}  // namespace garden::repro
