// The report writer: results.json's schema, escaping in markdown and HTML, the combined
// report's table of every paper, and plots inlined from the files they name.
#include "garden/repro/report.h"

#include <gtest/gtest.h>

#include "garden/core/files.h"
#include "garden/core/json.h"
#include "garden/repro/toolkit.h"
#include "test_files.h"

namespace garden::repro::report_test {
namespace {

Result sample() {
  Result r;
  r.slug = "limit";
  r.title = "A <b>bold</b> & title";
  r.claim = "claims | with pipes";
  r.scale = Scale::smoke;
  r.data_used = "generated";
  r.tables = {Table{"T", {"name", "value"}, {{"a|b", num(0.12345, 3)}, {"c", missing()}}}};
  r.criteria = {criterion("works", {at_least(q("x", 2.0), 1.0)})};
  r.figures = {{"x", 2.0}};
  decide_verdict(r);
  return r;
}

TEST(ResultJson, HoldsEveryFieldAndTheCellsValues) {
  const Json j = result_json(sample(), 3);
  for (const char* key : {"slug", "title", "scale", "verdict", "reason", "seconds", "data", "figures_version", "commit", "criteria",
                          "tables", "plots", "artifacts", "notes", "figures"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["scale"], "smoke");
  EXPECT_EQ(j["figures_version"], 3);
  EXPECT_EQ(j["verdict"], "REPRODUCED");
  EXPECT_DOUBLE_EQ(j["tables"][0]["rows"][0][1].get<double>(), 0.12345);  // the value, not the 3-digit text
  EXPECT_TRUE(j["tables"][0]["rows"][1][1].is_null());
  EXPECT_EQ(j["criteria"][0]["description"], "works: x >= 1");
  EXPECT_EQ(j["criteria"][0]["measured"], "x 2.00");
}

TEST(ResultMarkdown, EscapesPipesInCells) {
  const std::string md = result_markdown(sample(), "");
  EXPECT_NE(md.find("| a\\|b | 0.123 |"), std::string::npos) << md;
  EXPECT_EQ(md.find("| a|b |"), std::string::npos);
}

TEST(CombinedReport, ListsEveryPaperEscapesHtmlAndInlinesPlots) {
  testing::TempDir dir;
  Result r = sample();
  std::filesystem::create_directories(dir.path() / "limit");
  write_file_atomic(dir.path() / "limit" / "plot.svg", "<?xml version=\"1.0\"?>\n<svg id=\"inlined\"></svg>\n");
  r.rendered_plots = {"plot.svg"};
  write_combined_report({ReportEntry{"limit", "limit", r, ""}, ReportEntry{"gated-attention", "gated-attention", std::nullopt, "disk full"}},
                        dir.path());
  const std::string html = read_file(dir.path() / "report.html"), md = read_file(dir.path() / "report.md");
  for (const auto& paper : papers()) {
    EXPECT_NE(md.find(paper.slug), std::string::npos) << paper.slug;
    EXPECT_NE(html.find(paper.slug), std::string::npos) << paper.slug;
  }
  EXPECT_NE(html.find("A &lt;b&gt;bold&lt;/b&gt; &amp; title"), std::string::npos);
  EXPECT_EQ(html.find("<b>bold</b>"), std::string::npos);
  EXPECT_NE(html.find("<svg id=\"inlined\">"), std::string::npos);
  EXPECT_EQ(html.find("<?xml"), std::string::npos);
  EXPECT_NE(md.find("ERROR: disk full"), std::string::npos);
  EXPECT_NE(md.find("available (not run)"), std::string::npos);  // the papers without an entry
}

TEST(CombinedReport, AMissingPlotFileIsAnError) {
  testing::TempDir dir;
  Result r = sample();
  r.rendered_plots = {"absent.svg"};
  EXPECT_THROW(write_combined_report({ReportEntry{"limit", "limit", r, ""}}, dir.path()), Error);
}

}  // namespace
}  // namespace garden::repro::report_test
