#include "garden/wiki/tools.h"

#include <fmt/core.h>

#include "garden/core/error.h"
#include "garden/wiki/wiki.h"

namespace garden::wiki {

namespace fs = std::filesystem;

namespace {

std::string describe(const QueryResult& r) {
  std::string out = fmt::format("answer: {}\n", r.answer.empty() ? "(none from the template reader; read the text below)" : r.answer);
  for (const auto& c : r.evidence) out += "citation: " + claim_line(c) + "\n";
  out += fmt::format("pages read: {}\ntokens read: {}\n\n{}", r.pages_read.size(), r.tokens_read, r.text_read);
  return out;
}

}  // namespace

void add_wiki_tools(agent::ToolBox& box, const fs::path& workspace, const fs::path& wiki_root, const std::string& today) {
  const auto space = fs::canonical(workspace);
  const auto root = fs::canonical(wiki_root);
  const auto rel = root.lexically_relative(space);
  if (rel.empty() || *rel.begin() == "..") throw Error(fmt::format("{}: the wiki must lie inside the workspace {}", wiki_root.string(), workspace.string()));
  require_wiki(root);
  box.add(agent::Tool{"wiki_query", "Answer a question from the wiki: index lines first, then the pages they point to, within a token budget.",
                      Json::parse(R"({"type":"object","properties":{"question":{"type":"string"},"budget":{"type":"integer"}},"required":["question"]})"),
                      {false, false, {}}, 8000, [root](const Json& a) {
                        QueryOptions options;
                        options.budget = a.value("budget", options.budget);
                        return agent::ToolResult{describe(Navigator(root).query(a.at("question").get<std::string>(), options)), false};
                      }});
  box.add(agent::Tool{"wiki_file_answer", "Answer a question from the wiki and file the answer as a synthesis page.",
                      Json::parse(R"({"type":"object","properties":{"question":{"type":"string"}},"required":["question"]})"),
                      {true, false, {}}, 8000, [root, today](const Json& a) {
                        const auto r = query(root, a.at("question").get<std::string>(), QueryOptions{}, /*save=*/true, today);
                        return agent::ToolResult{fmt::format("saved [[{}]]\n{}", r.saved, describe(r)), false};
                      }});
  box.add(agent::Tool{"wiki_ingest", "Compile a source file of the workspace into the wiki (copied to raw/).",
                      Json::parse(R"({"type":"object","properties":{"path":{"type":"string"}},"required":["path"]})"),
                      {true, false, {"path"}}, 4000, [root, space, today](const Json& a) {
                        const fs::path given(a.at("path").get<std::string>());
                        const auto r = ingest(root, given.is_absolute() ? given : space / given, Backend{}, today);
                        if (r.unchanged) return agent::ToolResult{"already ingested (same content); nothing changed", false};
                        return agent::ToolResult{fmt::format("source [[{}]]: {} claims, {} pages created, {} updated, {} superseded, {} in conflict",
                                                             r.source_id, r.claims, r.created.size(), r.updated.size(), r.superseded, r.conflicts),
                                                 false};
                      }});
  box.add(agent::Tool{"wiki_lint", "Check the wiki: broken links, orphans, uncited lines, bad citations, contradictions, stale claims.",
                      Json::parse(R"({"type":"object","properties":{}})"), {true, false, {}}, 8000, [root, today](const Json&) {
                        const auto r = lint(root, /*fix=*/false, today);
                        std::string out = fmt::format("{} problem(s) in {} pages\n", r.problems.size(), r.pages);
                        for (const auto& p : r.problems) out += fmt::format("{}: {}: {}\n", p.kind, p.page, p.detail);
                        return agent::ToolResult{out, false};
                      }});
}

}  // namespace garden::wiki
