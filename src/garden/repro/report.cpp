#include "garden/repro/report.h"

#include <fmt/core.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "garden/core/build_info.h"
#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/core/progress.h"
#include "garden/repro/toolkit.h"

namespace garden::repro {

namespace fs = std::filesystem;

namespace {

std::string gnuplot_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// A cell of a markdown table: "|" would end the cell and a newline the row.
std::string markdown_cell(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += "\\|";
    else if (c == '\n') out += ' ';
    else out += c;
  }
  return out;
}

std::string table_markdown(const Table& table) {
  std::ostringstream md;
  if (!table.title.empty()) md << "**" << table.title << "**\n\n";
  md << "|";
  for (const auto& h : table.header) md << " " << markdown_cell(h) << " |";
  md << "\n|";
  for (size_t i = 0; i < table.header.size(); ++i) md << (i == 0 ? " --- |" : " ---: |");
  md << "\n";
  for (const auto& row : table.rows) {
    md << "|";
    for (const auto& cell : row) md << " " << markdown_cell(cell.text) << " |";
    md << "\n";
  }
  return md.str();
}

std::string table_html(const Table& table) {
  std::ostringstream html;
  if (!table.title.empty()) html << "<p><b>" << html_escape(table.title) << "</b></p>\n";
  html << "<table><tr>";
  for (const auto& h : table.header) html << "<th>" << html_escape(h) << "</th>";
  html << "</tr>\n";
  for (const auto& row : table.rows) {
    html << "<tr>";
    for (const auto& cell : row) html << "<td>" << html_escape(cell.text) << "</td>";
    html << "</tr>\n";
  }
  return html.str() + "</table>\n";
}

// "base-lm 3f2a... reused (built in 3m27s); ..."
std::string artifacts_text(const std::vector<Artifact>& artifacts) {
  std::vector<std::string> parts;
  for (const auto& a : artifacts) {
    const std::string how = a.built     ? "built in " + format_duration(a.seconds)
                            : a.shipped ? "installed from the repository's copy (built in " + format_duration(a.seconds) + ")"
                                        : "reused (built in " + format_duration(a.seconds) + ")";
    parts.push_back(a.name + " " + a.dir.filename().string() + " " + how);
  }
  return join(parts, "; ");
}

}  // namespace

std::string render_plot(const Plot& plot, const fs::path& dir) {
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
    fmt::print(stderr, "note: gnuplot is not installed; skipping plot {}\n", plot.file);
    return "";
  }
  std::ostringstream data;
  for (size_t i = 0; i < plot.series.size(); ++i) {
    for (size_t j = 0; j < plot.series[i].x.size(); ++j) data << plot.series[i].x[j] << " " << plot.series[i].y[j] << "\n";
    data << "\n\n";  // gnuplot data blocks are separated by two blank lines
  }
  const fs::path data_file = dir / (plot.file + ".dat");
  write_file_atomic(data_file, data.str());
  std::ostringstream script;
  const fs::path svg = dir / plot.file;
  const fs::path staged = staging_path(svg);
  script << "set terminal svg size 720,420 dynamic enhanced font 'sans,12'\n"
         << "set output " << gnuplot_quote(staged.string()) << "\n"
         << "set title " << gnuplot_quote(plot.title) << " noenhanced\n"
         << "set xlabel " << gnuplot_quote(plot.xlabel) << " noenhanced\n"
         << "set ylabel " << gnuplot_quote(plot.ylabel) << " noenhanced\n"
         << "set key outside right noenhanced\nset grid\n";
  if (plot.log_y) script << "set logscale y\n";
  if (plot.log_x) script << "set logscale x 2\n";
  script << "plot ";
  for (size_t i = 0; i < plot.series.size(); ++i)
    // Markers only where there are few points; dense curves read better as plain lines.
    script << (i ? ", " : "") << gnuplot_quote(data_file.string()) << " index " << i
           << (plot.series[i].x.size() <= 30 ? " with linespoints" : " with lines lw 1.5") << " title "
           << gnuplot_quote(plot.series[i].name);
  script << "\n";
  const fs::path script_file = dir / (plot.file + ".gp");
  write_file_atomic(script_file, script.str());
  const int rc = std::system(("gnuplot " + gnuplot_quote(script_file.string()) + " 2>/dev/null").c_str());
  if (rc != 0 || !fs::exists(staged)) {
    fmt::print(stderr, "note: gnuplot failed on {}; the figures are in {}\n", plot.file, data_file.string());
    return "";
  }
  fs::rename(staged, svg);
  return plot.file;
}

std::string result_markdown(const Result& result, const std::string& plot_prefix) {
  std::ostringstream md;
  md << "## " << result.title << " (`" << result.slug << "`)\n\n";
  md << "**Claim.** " << result.claim << "\n\n";
  md << "**Verdict: " << to_string(result.verdict) << "** — " << result.verdict_reason << "\n\n";
  md << "Scale `" << to_string(result.scale) << "`, " << format_duration(result.seconds) << ". Data: " << result.data_used << "\n\n";
  if (!result.artifacts.empty()) md << "Cached artifacts: " << artifacts_text(result.artifacts) << "\n\n";
  for (const auto& table : result.tables) md << table_markdown(table) << "\n";
  Table criteria{"Criteria", {"criterion", "measured", "result"}, {}};
  for (const auto& c : result.criteria)
    criteria.rows.push_back({c.description + (c.gate ? " (precondition)" : ""), c.measured, outcome(c)});
  md << table_markdown(criteria) << "\n";
  for (const auto& plot : result.rendered_plots) md << "![" << plot << "](" << plot_prefix << plot << ")\n\n";
  for (const auto& note : result.notes) md << "- " << note << "\n";
  if (!result.notes.empty()) md << "\n";
  return md.str();
}

Json result_json(const Result& result, int figures_version) {
  Json criteria = Json::array();
  for (const auto& c : result.criteria)
    criteria.push_back({{"description", c.description}, {"passed", c.passed}, {"measured", c.measured}, {"precondition", c.gate}, {"judged", c.judged}});
  Json tables = Json::array();
  for (const auto& t : result.tables) tables.push_back(t.to_json());
  Json artifacts = Json::array();
  for (const auto& a : result.artifacts)
    artifacts.push_back({{"name", a.name}, {"dir", a.dir.string()}, {"built", a.built}, {"seconds", a.seconds}, {"note", a.note}});
  return Json{{"slug", result.slug},
              {"title", result.title},
              {"scale", to_string(result.scale)},
              {"verdict", to_string(result.verdict)},
              {"reason", result.verdict_reason},
              {"seconds", result.seconds},
              {"data", result.data_used},
              {"seed", result.seed},
              {"base", result.base_recipe.empty() ? Json(nullptr) : Json(result.base_recipe)},
              {"threads", torch::get_num_threads()},
              {"figures_version", figures_version},
              {"commit", source_commit()},
              {"criteria", criteria},
              {"tables", tables},
              {"plots", result.rendered_plots},
              {"artifacts", artifacts},
              {"notes", result.notes},
              {"figures", result.figures}};
}

void write_result_files(const Result& result, int figures_version, const fs::path& dir) {
  write_json_atomic(dir / "results.json", result_json(result, figures_version));
  write_file_atomic(dir / "report.md", "# " + result.slug + "\n\n" + result_markdown(result, ""));
}

void write_combined_report(const std::vector<ReportEntry>& entries, const fs::path& out) {
  // The first table lists every paper: its reproduction's verdict and time where it ran,
  // the error where it failed, "planned" where none exists yet.
  Table status{"", {"paper", "area", "status", "verdict", "time"}, {}};
  std::vector<std::string> status_classes;
  for (const auto& paper : papers()) {
    const ReportEntry* entry = nullptr;
    for (const auto& e : entries)
      if (e.slug == paper.slug) entry = &e;
    const bool available = find_reproduction(paper.slug) != nullptr;
    if (entry && entry->result) {
      const std::string verdict = to_string(entry->result->verdict);
      status.rows.push_back({"[" + paper.slug + "](#" + paper.slug + ")", paper.area, "available", verdict, format_duration(entry->result->seconds)});
      status_classes.push_back(verdict.substr(0, verdict.find(' ')));
    } else if (entry) {
      status.rows.push_back({paper.slug, paper.area, "available", "ERROR: " + entry->error, "-"});
      status_classes.push_back("NOT");
    } else {
      status.rows.push_back({paper.slug, paper.area, available ? "available (not run)" : "planned", "-", "-"});
      status_classes.push_back("");
    }
  }
  // Each shared artifact once: which reproduction built it (and in how long) or that every
  // one reused an earlier build.
  Table artifacts{"Cached artifacts", {"artifact", "entry", "built", "used by"}, {}};
  for (const auto& e : entries) {
    if (!e.result) continue;
    for (const auto& a : e.result->artifacts) {
      auto row = std::find_if(artifacts.rows.begin(), artifacts.rows.end(),
                              [&](const std::vector<Cell>& r) { return r[1].text == a.dir.filename().string(); });
      if (row == artifacts.rows.end()) {
        artifacts.rows.push_back({a.name, a.dir.filename().string(),
                                  a.built ? "by " + e.slug + " in " + format_duration(a.seconds) : "earlier (" + format_duration(a.seconds) + ")", e.slug});
      } else {
        (*row)[3] = (*row)[3].text + ", " + e.slug;
      }
    }
  }
  std::ostringstream md, html;
  md << "# garden reproductions\n\n" << table_markdown(status) << "\n";
  if (!artifacts.rows.empty()) md << table_markdown(artifacts) << "\n";
  html << "<!doctype html><html><head><meta charset=\"utf-8\"><title>garden reproductions</title><style>"
       << "body{font-family:sans-serif;max-width:960px;margin:2em auto;line-height:1.4}"
       << "table{border-collapse:collapse;margin:0.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
       << "td:first-child,th:first-child{text-align:left}.REPRODUCED{color:#070}.NOT{color:#a00}.INCONCLUSIVE{color:#a60}"
       << "</style></head><body><h1>garden reproductions</h1>\n<table><tr>";
  for (const auto& h : status.header) html << "<th>" << h << "</th>";
  html << "</tr>\n";
  for (size_t i = 0; i < status.rows.size(); ++i) {
    const auto& row = status.rows[i];
    const auto& slug = papers()[i].slug;
    const bool ran = row[4].text != "-";
    html << "<tr><td>" << (ran ? "<a href=\"#" + slug + "\">" + slug + "</a>" : html_escape(slug)) << "</td><td>"
         << html_escape(row[1].text) << "</td><td>" << html_escape(row[2].text) << "</td><td class=\"" << status_classes[i] << "\">"
         << html_escape(row[3].text) << "</td><td>" << html_escape(row[4].text) << "</td></tr>\n";
  }
  html << "</table>\n";
  if (!artifacts.rows.empty()) html << table_html(artifacts);
  for (const auto& entry : entries) {
    if (!entry.result) continue;
    const auto& r = *entry.result;
    md << "<a id=\"" << r.slug << "\"></a>\n" << result_markdown(r, entry.subdir + "/");
    const std::string verdict = to_string(r.verdict);
    html << "<h2 id=\"" << r.slug << "\">" << html_escape(r.title) << "</h2>\n<p><b>Claim.</b> " << html_escape(r.claim)
         << "</p>\n<p class=\"" << verdict.substr(0, verdict.find(' ')) << "\"><b>Verdict: " << verdict << "</b> — "
         << html_escape(r.verdict_reason) << "</p>\n<p>Scale " << to_string(r.scale) << ", " << format_duration(r.seconds)
         << ". Data: " << html_escape(r.data_used) << "</p>\n";
    for (const auto& table : r.tables) html << table_html(table);
    Table criteria{"Criteria", {"criterion", "measured", "result"}, {}};
    for (const auto& c : r.criteria)
      criteria.rows.push_back({c.description + (c.gate ? " (precondition)" : ""), c.measured, outcome(c)});
    html << table_html(criteria);
    for (const auto& plot : r.rendered_plots) {
      std::string svg = read_file(out / entry.subdir / plot);
      if (auto start = svg.find("<svg"); start != std::string::npos) svg = svg.substr(start);  // drop the XML prolog
      html << "<div>" << svg << "</div>\n";
    }
    if (!r.notes.empty()) {
      html << "<ul>";
      for (const auto& note : r.notes) html << "<li>" << html_escape(note) << "</li>";
      html << "</ul>\n";
    }
  }
  html << "</body></html>\n";
  write_file_atomic(out / "report.md", md.str());
  write_file_atomic(out / "report.html", html.str());
}

}  // namespace garden::repro
