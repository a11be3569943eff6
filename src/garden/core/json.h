// JSON (nlohmann) plus typed field access whose errors name the document and field.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "garden/core/error.h"

namespace garden {

using Json = nlohmann::json;

Json read_json_file(const std::filesystem::path& path);
void write_json_atomic(const std::filesystem::path& path, const Json& value);

// Calls fn(object, line number) for every non-blank line of a JSONL file. A line that is not
// JSON, or not an object, stops the read with "FILE:LINE: ..."; a missing file names itself.
void for_each_jsonl_object(const std::filesystem::path& path, const std::function<void(const Json&, int64_t)>& fn);

// Reads `object[key]` as T if present (leaving `out` untouched otherwise); `where` names
// the document in the error, e.g. "cfg.json".
template <typename T>
void read_field(const Json& object, const std::string& key, T& out, const std::string& where) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return;
  try {
    out = it->get<T>();
  } catch (const nlohmann::json::exception&) {
    throw Error(where + ": field '" + key + "' has the wrong type (" + it->dump() + ")");
  }
}

}  // namespace garden
