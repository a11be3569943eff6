#include "garden/agent/tools.h"

#include <fmt/core.h>
#include <fmt/format.h>
#include <fnmatch.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/retrieval/retriever.h"

namespace garden::agent {

namespace fs = std::filesystem;

std::string schema_mismatch(const Json& schema, const Json& arguments) {
  if (!arguments.is_object()) return "arguments must be a JSON object";
  const Json properties = schema.value("properties", Json::object());
  for (const auto& required : schema.value("required", Json::array()))
    if (!arguments.contains(required.get<std::string>())) return fmt::format("missing required argument '{}'", required.get<std::string>());
  for (const auto& [key, value] : arguments.items()) {
    const auto p = properties.find(key);
    if (p == properties.end()) return fmt::format("unknown argument '{}'", key);
    const std::string type = p->value("type", "");
    const bool ok = type.empty() || (type == "string" && value.is_string()) || (type == "integer" && value.is_number_integer()) ||
                    (type == "number" && value.is_number()) || (type == "boolean" && value.is_boolean()) ||
                    (type == "object" && value.is_object()) || (type == "array" && value.is_array());
    if (!ok) return fmt::format("argument '{}' must be of type {}", key, type);
    if (p->contains("enum")) {
      const auto& allowed = p->at("enum");
      if (std::find(allowed.begin(), allowed.end(), value) == allowed.end()) return fmt::format("argument '{}' must be one of {}", key, allowed.dump());
    }
  }
  return "";
}

std::string RefStore::put(std::string content) {
  const std::string id = fmt::format("ref:{}", refs_.size() + 1);
  refs_[id] = std::move(content);
  return id;
}

const std::string* RefStore::get(const std::string& id) const {
  const auto it = refs_.find(id);
  return it == refs_.end() ? nullptr : &it->second;
}

void ToolBox::add(Tool tool) {
  if (find(tool.name)) throw Error(fmt::format("tool {} is registered twice", tool.name));
  tools_.push_back(std::move(tool));
}

const Tool* ToolBox::find(const std::string& name) const {
  for (const auto& t : tools_)
    if (t.name == name) return &t;
  return nullptr;
}

std::vector<std::string> ToolBox::names() const {
  std::vector<std::string> out;
  for (const auto& t : tools_) out.push_back(t.name);
  return out;
}

Json ToolBox::schemas() const {
  Json out = Json::array();
  for (const auto& t : tools_)
    out.push_back({{"type", "function"}, {"function", {{"name", t.name}, {"description", t.description}, {"parameters", t.parameters}}}});
  return out;
}

ToolResult ToolBox::run(const std::string& name, const Json& arguments) const {
  const Tool* tool = find(name);
  if (!tool) return {fmt::format("unknown tool '{}'; the tools are: {}", name, fmt::join(names(), ", ")), true};
  if (const auto why = schema_mismatch(tool->parameters, arguments); !why.empty()) return {fmt::format("{}: {}", name, why), true};
  ToolResult result;
  try {
    result = tool->run(arguments);
  } catch (const std::exception& e) {
    return {fmt::format("{} failed: {}", name, e.what()), true};
  }
  if (result.content.size() > tool->output_cap) {
    const size_t cut = result.content.size() - tool->output_cap;
    result.content.resize(tool->output_cap);
    result.content += fmt::format("\n[... {} more bytes cut; narrow the request]", cut);
  }
  return result;
}

namespace {

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("cannot read {}", path.filename().string()));
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

fs::path in_workspace(const fs::path& workspace, const std::string& path) {
  // The permission engine has already checked containment; this only anchors relative paths.
  const fs::path p(path);
  return p.is_absolute() ? p : workspace / p;
}

bool valid_note_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '_' || c == '.'; }) &&
         name.front() != '.';
}

}  // namespace

void add_workspace_tools(ToolBox& box, const fs::path& workspace, const RefStore& refs, std::chrono::milliseconds grep_time_limit) {
  const fs::path root = fs::canonical(workspace);
  box.add(Tool{"read_file", "Read lines of a text file in the workspace.",
               Json::parse(R"({"type":"object","properties":{"path":{"type":"string"},"offset":{"type":"integer"},"limit":{"type":"integer"}},"required":["path"]})"),
               {false, false, {"path"}}, 8000, [root](const Json& a) {
                 const auto path = in_workspace(root, a.at("path").get<std::string>());
                 if (!fs::is_regular_file(path)) return ToolResult{fmt::format("{} is not a file", a.at("path").get<std::string>()), true};
                 const int64_t offset = std::max<int64_t>(1, a.value("offset", int64_t{1})), limit = std::max<int64_t>(1, a.value("limit", int64_t{200}));
                 std::istringstream in(read_text(path));
                 std::string line, out;
                 for (int64_t n = 1; std::getline(in, line) && n < offset + limit; ++n)
                   if (n >= offset) out += fmt::format("{}: {}\n", n, line);
                 return ToolResult{out, false};
               }});
  box.add(Tool{"grep", "Search files under a folder of the workspace for a regular expression.",
               Json::parse(R"({"type":"object","properties":{"pattern":{"type":"string"},"path":{"type":"string"},"glob":{"type":"string"},"max_matches":{"type":"integer"}},"required":["pattern"]})"),
               {false, false, {"path"}}, 8000, [root, grep_time_limit](const Json& a) {
                 std::regex re;
                 try {
                   re = std::regex(a.at("pattern").get<std::string>());
                 } catch (const std::regex_error& e) {
                   return ToolResult{fmt::format("invalid pattern: {}", e.what()), true};
                 }
                 const auto base = in_workspace(root, a.value("path", std::string(".")));
                 const std::string glob = a.value("glob", std::string("*"));
                 const int64_t max_matches = std::max<int64_t>(1, a.value("max_matches", int64_t{50}));
                 const auto deadline = std::chrono::steady_clock::now() + grep_time_limit;
                 std::vector<fs::path> files;
                 if (fs::is_regular_file(base)) files.push_back(base);
                 else if (fs::is_directory(base))
                   for (const auto& e : fs::recursive_directory_iterator(base, fs::directory_options::skip_permission_denied))
                     if (e.is_regular_file() && !e.is_symlink()) files.push_back(e.path());
                 std::sort(files.begin(), files.end());
                 std::string out;
                 int64_t matches = 0;
                 for (const auto& file : files) {
                   if (fnmatch(glob.c_str(), file.filename().c_str(), 0) != 0) continue;
                   std::istringstream in(read_text(file));
                   std::string line;
                   for (int64_t n = 1; std::getline(in, line); ++n) {
                     if (std::chrono::steady_clock::now() > deadline) return ToolResult{out + "[time limit reached; narrow the search]\n", false};
                     if (!std::regex_search(line, re)) continue;
                     out += fmt::format("{}:{}: {}\n", file.lexically_relative(root).generic_string(), n, line);
                     if (++matches >= max_matches) return ToolResult{out + fmt::format("[stopped at {} matches]\n", max_matches), false};
                   }
                 }
                 return ToolResult{out.empty() ? "no matches\n" : out, false};
               }});
  box.add(Tool{"write_note", "Create or append to a note in the workspace's notes folder.",
               Json::parse(R"({"type":"object","properties":{"name":{"type":"string"},"content":{"type":"string"},"mode":{"type":"string","enum":["create","append"]}},"required":["name","content"]})"),
               {true, true, {}}, 2000, [root](const Json& a) {
                 const std::string name = a.at("name").get<std::string>();
                 if (!valid_note_name(name)) return ToolResult{fmt::format("note name '{}': use letters, digits, '-', '_' and '.'", name), true};
                 const fs::path path = root / "notes" / name;
                 // notes/ (or the note) may be a symlink planted in the workspace: the note must
                 // still resolve inside it.
                 const auto resolved = fs::weakly_canonical(path);
                 const auto rel = resolved.lexically_relative(root);
                 if (rel.empty() || *rel.begin() == "..") return ToolResult{fmt::format("note {} would resolve outside the workspace", name), true};
                 const std::string mode = a.value("mode", std::string("create"));
                 if (mode == "create" && fs::exists(path)) return ToolResult{fmt::format("note {} exists; use mode append", name), true};
                 const std::string old = fs::exists(path) ? read_text(path) : "";
                 fs::create_directories(path.parent_path());
                 write_file_atomic(path, old + a.at("content").get<std::string>());
                 return ToolResult{fmt::format("wrote notes/{} ({} bytes)", name, old.size() + a.at("content").get<std::string>().size()), false};
               }});
  box.add(Tool{"read_ref", "Read back a large result that was offloaded, by its id (ref:N).",
               Json::parse(R"({"type":"object","properties":{"id":{"type":"string"}},"required":["id"]})"), {false, false, {}}, 16000,
               [&refs](const Json& a) {
                 const auto* content = refs.get(a.at("id").get<std::string>());
                 if (!content) return ToolResult{fmt::format("no result {}", a.at("id").get<std::string>()), true};
                 return ToolResult{*content, false};
               }});
}

void add_search_tool(ToolBox& box, std::map<std::string, fs::path> indexes, int64_t max_k) {
  struct Opened {
    std::unique_ptr<retrieval::Retriever> retriever;
    std::map<std::string, std::string> texts;  // document id -> text
  };
  auto opened = std::make_shared<std::map<std::string, Opened>>();
  std::vector<std::string> names;
  for (const auto& [name, dir] : indexes) names.push_back(name);
  const std::string description = fmt::format("Search a document index for a query; returns the top k documents with their text. Indexes: {}.",
                                              fmt::join(names, ", "));
  box.add(Tool{"search", description,
               Json::parse(R"({"type":"object","properties":{"index":{"type":"string"},"query":{"type":"string"},"k":{"type":"integer"}},"required":["query"]})"),
               {false, false, {}}, 8000, [indexes = std::move(indexes), opened, max_k, names](const Json& a) {
                 std::string name = a.value("index", names.size() == 1 ? names.front() : std::string());
                 const auto it = indexes.find(name);
                 if (it == indexes.end()) return ToolResult{fmt::format("unknown index '{}'; the indexes are: {}", name, fmt::join(names, ", ")), true};
                 auto& o = (*opened)[name];
                 if (!o.retriever) {
                   o.retriever = retrieval::open_index(it->second);
                   const auto corpus = retrieval::index_corpus(it->second);
                   if (!corpus.empty()) {
                     std::vector<std::string> ids;
                     const auto texts = retrieval::read_jsonl_texts(corpus, &ids);
                     for (size_t i = 0; i < ids.size(); ++i) o.texts[ids[i]] = texts[i];
                   }
                 }
                 const int64_t k = std::clamp<int64_t>(a.value("k", int64_t{5}), 1, max_k);
                 const auto run = o.retriever->search({retrieval::Query{"q", a.at("query").get<std::string>()}}, k);
                 std::string out;
                 int rank = 0;
                 if (const auto hits = run.find("q"); hits != run.end())
                   for (const auto& hit : hits->second) {
                     const auto text = o.texts.find(hit.doc_id);
                     out += fmt::format("{}. {} ({:.3f}): {}\n", ++rank, hit.doc_id, hit.score,
                                        text == o.texts.end() ? std::string("(no text)") : text->second.substr(0, 400));
                   }
                 return ToolResult{out.empty() ? "no documents matched\n" : out, false};
               }});
}

}  // namespace garden::agent
