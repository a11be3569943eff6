#include "garden/text/corpus.h"

#include <fmt/core.h>

#include <fstream>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/core/json.h"

namespace garden::text {

std::vector<std::string> read_text_documents(const std::filesystem::path& path, TextUnit unit) {
  if (unit == TextUnit::file) return {read_file(path)};
  std::ifstream in(path);
  if (!in) throw Error("cannot read " + path.string() + ": no such file or not readable");
  std::vector<std::string> docs;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) docs.push_back(line);
  }
  return docs;
}

std::vector<std::string> read_jsonl_field(const std::filesystem::path& path, const std::string& field) {
  std::vector<std::string> docs;
  for_each_jsonl_object(path, [&](const Json& object, int64_t number) {
    auto it = object.find(field);
    if (it == object.end() || !it->is_string())
      throw Error(fmt::format("{}:{}: no string field '{}'", path.string(), number, field));
    docs.push_back(it->get<std::string>());
  });
  return docs;
}

std::vector<std::string> read_documents(const std::filesystem::path& path, const std::string& jsonl_field) {
  if (path.extension() == ".jsonl") return read_jsonl_field(path, jsonl_field);
  return read_text_documents(path, TextUnit::line);
}

}  // namespace garden::text
