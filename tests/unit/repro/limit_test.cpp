// The LIMIT criteria on hand-made figures: a set that passes every criterion, and for each
// criterion a change of one figure that fails it (and only it).
#include <gtest/gtest.h>

#include <cmath>

#include "garden/repro/reproduction.h"
#include "garden/limit/free_embedding.h"
#include "repro_test_helpers.h"

namespace garden::repro::limit_test {
namespace {

Json pattern_rows(double bm25, double free8, double free16) {
  return Json::array({{{"retriever", "BM25"}, {"recall", {{"2", bm25}, {"10", 1.0}}}},
                      {{"retriever", "free embeddings d=8"}, {"recall", {{"2", free8}, {"10", 1.0}}}},
                      {{"retriever", "free embeddings d=16"}, {"recall", {{"2", free16}, {"10", 1.0}}}}});
}

Json passing() {
  Json critical = Json::array();
  for (int d = 4; d <= 16; ++d)
    critical.push_back({{"d", d}, {"critical_n", std::round(limit::paper_critical_n(d))}});
  return {{"critical_n", critical},
          {"fit", {{"coefficients", {1.0, 1.0, 0.1, 0.01}}, {"r2", 0.999}}},
          {"patterns", {{"dense", pattern_rows(1.0, 0.92, 1.0)}, {"cycle", pattern_rows(1.0, 1.0, 1.0)},
                        {"random", pattern_rows(0.99, 0.97, 1.0)}, {"disjoint", pattern_rows(1.0, 1.0, 1.0)}}},
          {"construction", Json::array({{{"n", 50}, {"precision", "float32"}, {"failed_queries", 0}},
                                        {{"n", 200}, {"precision", "float32"}, {"failed_queries", 19}},
                                        {{"n", 400}, {"precision", "float64"}, {"failed_queries", 0}}})}};
}

// The pattern row of `retriever` in figures["patterns"][pattern].
Json& row(Json& figures, const std::string& pattern, const std::string& retriever) {
  for (auto& r : figures["patterns"][pattern])
    if (r["retriever"] == retriever) return r;
  throw Error("no row " + retriever);
}

TEST(LimitCriteria, PassOnFiguresThatMeetTheClaim) {
  const auto criteria = criteria_of("limit", passing());
  ASSERT_EQ(criteria.size(), 7u);
  for (const auto& c : criteria) EXPECT_TRUE(c.passed) << c.description << ": " << c.measured;
}

TEST(LimitCriteria, EachFailsOnItsOwnFigure) {
  const std::vector<std::pair<std::string, std::function<void(Json&)>>> breaks = {
      // The last critical n 20% above the fit: still increasing, no longer near the fit.
      {"follows the paper's cubic fit", [](Json& f) { f["critical_n"][12]["critical_n"] = 1.2 * limit::paper_critical_n(16); }},
      {"grows with d", [](Json& f) { f["critical_n"][0]["critical_n"] = f["critical_n"][1]["critical_n"]; }},
      {"growth is cubic", [](Json& f) { f["fit"]["r2"] = 0.98; }},
      {"growth is cubic", [](Json& f) { f["fit"]["coefficients"][3] = -0.001; }},
      {"near perfect", [](Json& f) { row(f, "cycle", "BM25")["recall"]["2"] = 0.94; }},
      {"too small", [](Json& f) { row(f, "dense", "free embeddings d=8")["recall"]["2"] = 1.0; }},
      {"too small", [](Json& f) { row(f, "disjoint", "free embeddings d=8")["recall"]["2"] = 0.99; }},
      {"solves the dense", [](Json& f) { row(f, "dense", "free embeddings d=16")["recall"]["2"] = 0.999; }},
      {"every top-2 set", [](Json& f) { f["construction"][2]["failed_queries"] = 1; }},
  };
  for (const auto& [name, change] : breaks) {
    Json figures = passing();
    change(figures);
    expect_only_failing(criteria_of("limit", figures), name);
  }
}

TEST(LimitCriteria, IncompleteFiguresThrow) {
  Json figures = passing();
  figures.erase("construction");
  EXPECT_THROW(criteria_of("limit", figures), Error);
  figures = passing();
  figures["patterns"]["dense"].erase(2);  // no d=16 row
  EXPECT_THROW(criteria_of("limit", figures), Error);
}

}  // namespace
}  // namespace garden::repro::limit_test
