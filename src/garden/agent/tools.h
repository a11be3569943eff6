// The agent's tools (agent-design.md, "Tools"): each has a JSON schema the model sees, the traits
// the permission engine reads, an output cap, and a function. The loop checks arguments against
// the schema before running a tool, and a tool's failure becomes an error result the model reads
// (the loop goes on). Built-in tools work inside one workspace folder:
//   read_file(path, offset, limit)        lines of a file
//   grep(pattern, path, glob, max_matches) regex over files, with a time limit
//   write_note(name, content, mode)        create or append a note under notes/
//   read_ref(id)                           a large result offloaded by compaction
//   search(index, query, k)                a garden index folder (BM25, or a fusion/dense one
//                                          whose queries need no model), top k with text
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "garden/agent/permissions.h"
#include "garden/core/json.h"

namespace garden::agent {

struct ToolResult {
  std::string content;
  bool error = false;
};

struct Tool {
  std::string name, description;
  Json parameters;  // a JSON schema: {"type": "object", "properties": {...}, "required": [...]}
  ToolTraits traits;
  size_t output_cap = 8000;  // bytes of content the model sees; the rest is cut with a note
  std::function<ToolResult(const Json& arguments)> run;
};

// Why `arguments` do not fit `schema` (required properties, property types: string, integer,
// number, boolean, object, array; no unknown properties), or "" when they do.
std::string schema_mismatch(const Json& schema, const Json& arguments);

// Large results kept outside the context, read back by id (read_ref).
class RefStore {
 public:
  std::string put(std::string content);  // returns "ref:<n>"
  const std::string* get(const std::string& id) const;

 private:
  std::map<std::string, std::string> refs_;
};

class ToolBox {
 public:
  void add(Tool tool);
  const Tool* find(const std::string& name) const;
  Json schemas() const;  // the OpenAI "tools" array
  // Runs a call whose permission is already granted: schema check, the tool, the output cap;
  // exceptions become error results.
  ToolResult run(const std::string& name, const Json& arguments) const;
  std::vector<std::string> names() const;

 private:
  std::vector<Tool> tools_;
};

// The built-in tools over `workspace` (notes go to workspace/notes/); grep gives up after
// `grep_time_limit` and says so.
void add_workspace_tools(ToolBox& box, const std::filesystem::path& workspace, const RefStore& refs,
                         std::chrono::milliseconds grep_time_limit = std::chrono::milliseconds(2000));

// search over named garden index folders (index name -> folder); the documents' text comes
// from the corpus each manifest names. Indexes open on first use.
void add_search_tool(ToolBox& box, std::map<std::string, std::filesystem::path> indexes, int64_t max_k = 20);

}  // namespace garden::agent
