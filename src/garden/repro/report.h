// Reports of reproductions: results.json and report.md per reproduction, and the combined
// report.md + self-contained report.html (plots inlined as SVG) of `garden repro all`.
// Plots are drawn by gnuplot (Debian's gnuplot-nox); without it the report says so.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "garden/repro/reproduction.h"

namespace garden::repro {

// Renders `plot` to <dir>/<plot.file> with gnuplot; returns the file name, or "" (with a
// note on stderr) when gnuplot is missing or fails.
std::string render_plot(const Plot& plot, const std::filesystem::path& dir);

std::string result_markdown(const Result& result, const std::string& plot_prefix);
void write_result_files(const Result& result, const std::filesystem::path& dir);

// `subdirs[i]` is the folder (relative to `out`) holding results[i]'s files.
void write_combined_report(const std::vector<Result>& results, const std::vector<std::string>& subdirs,
                           const std::filesystem::path& out);

}  // namespace garden::repro
