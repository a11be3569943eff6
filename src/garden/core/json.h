// JSON (nlohmann) plus typed field access whose errors name the document and field.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
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

// Refuses the first key of `object` that `known` lacks, naming it and the known ones; `known`
// is an object whose keys are the accepted names (e.g. a default config's to_json()) or an
// array of names. A misspelt key would otherwise leave its field at the default unnoticed.
void refuse_unknown_keys(const Json& object, const Json& known, const std::string& where);

namespace detail {
// Throws unless `value` is a whole number in [lowest, highest]: nlohmann's conversion would
// truncate 16.7 to 16 and wrap -1 into an unsigned field without a word.
void require_integer(const Json& value, long double lowest, long double highest, const std::string& key, const std::string& where);
}  // namespace detail

// Reads `object[key]` as T if present (leaving `out` untouched otherwise); `where` names
// the document in the error, e.g. "cfg.json".
template <typename T>
void read_field(const Json& object, const std::string& key, T& out, const std::string& where) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return;
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>)
    if (it->is_number())
      detail::require_integer(*it, static_cast<long double>(std::numeric_limits<T>::lowest()),
                              static_cast<long double>(std::numeric_limits<T>::max()), key, where);
  try {
    out = it->get<T>();
  } catch (const nlohmann::json::exception&) {
    throw Error(where + ": field '" + key + "' has the wrong type (" + it->dump() + ")");
  }
}

}  // namespace garden
