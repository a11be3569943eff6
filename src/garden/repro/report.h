// Reports of reproductions: results.json and report.md per reproduction, and the combined
// report.md + self-contained report.html (plots inlined as SVG) of `garden repro all`.
// Plots are drawn by gnuplot (Debian's gnuplot-nox); without it the report says so.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "garden/core/json.h"
#include "garden/repro/reproduction.h"

namespace garden::repro {

// Renders `plot` to <dir>/<plot.file> with gnuplot; returns the file name, or "" (with a
// note on stderr) when gnuplot is missing or fails.
std::string render_plot(const Plot& plot, const std::filesystem::path& dir);

std::string result_markdown(const Result& result, const std::string& plot_prefix);
// What results.json holds: verdict, criteria, tables (the cells' values), figures, the
// figures version of the code and the commit it was built from.
Json result_json(const Result& result, int figures_version);
void write_result_files(const Result& result, int figures_version, const std::filesystem::path& dir);

// One reproduction of `repro all`: its result, or the error that stopped it.
struct ReportEntry {
  std::string slug;
  std::string subdir;  // the folder (relative to the report) holding its files
  std::optional<Result> result;
  std::string error;
};

// report.md and report.html in `out`; the first table lists every paper of papers().
void write_combined_report(const std::vector<ReportEntry>& entries, const std::filesystem::path& out);

}  // namespace garden::repro
