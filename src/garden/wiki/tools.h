// The wiki's operations as agent tools (llm-wiki.md: "All operations exposed as agent tools"):
//   wiki_query(question, budget)  index-first reading; the answer, pages read and tokens (read-only)
//   wiki_file_answer(question)     the same, filed back as a synthesis page (writes the wiki)
//   wiki_ingest(path)              a workspace file compiled into the wiki (writes the wiki)
//   wiki_lint()                    the health check; appends its heading to log.md (a write)
// Ingest goes through the extractor: a model driving the loop decides what to ingest and when.
#pragma once

#include <filesystem>
#include <string>

#include "garden/agent/tools.h"

namespace garden::wiki {

// `wiki_root` must lie inside `workspace` (the permission engine checks paths against the
// workspace, and the tools write only there); `today` dates the log headings.
void add_wiki_tools(agent::ToolBox& box, const std::filesystem::path& workspace, const std::filesystem::path& wiki_root, const std::string& today);

}  // namespace garden::wiki
