#include "garden/core/json.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include "garden/core/files.h"

namespace garden {

void refuse_unknown_keys(const Json& object, const Json& known, const std::string& where) {
  if (!object.is_object()) return;
  std::vector<std::string> names;
  if (known.is_object())
    for (const auto& item : known.items()) names.push_back(item.key());
  else
    for (const auto& name : known) names.push_back(name.get<std::string>());
  for (const auto& item : object.items())
    if (std::find(names.begin(), names.end(), item.key()) == names.end())
      throw Error(fmt::format("{}: unknown field '{}' (known: {})", where, item.key(), fmt::join(names, ", ")));
}

namespace detail {
void require_integer(const Json& value, long double lowest, long double highest, const std::string& key, const std::string& where) {
  const long double v = value.is_number_unsigned()  ? static_cast<long double>(value.get<uint64_t>())
                        : value.is_number_integer() ? static_cast<long double>(value.get<int64_t>())
                                                    : static_cast<long double>(value.get<double>());
  if (!std::isfinite(v) || v != std::trunc(v))
    throw Error(fmt::format("{}: field '{}' must be an integer, got {}", where, key, value.dump()));
  if (v < lowest || v > highest)
    throw Error(lowest == 0 ? fmt::format("{}: field '{}' must be an integer >= 0, got {}", where, key, value.dump())
                            : fmt::format("{}: field '{}' must be an integer in [{:.0f}, {:.0f}], got {}", where, key, lowest, highest,
                                          value.dump()));
}
}  // namespace detail

Json read_json_file(const std::filesystem::path& path) {
  const std::string text = read_file(path);
  try {
    return Json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(path.string() + ": not valid JSON (byte " + std::to_string(e.byte) + ")");
  } catch (const nlohmann::json::out_of_range&) {
    // nlohmann's parser throws out_of_range.406, no parse_error, for a number beyond a double.
    throw Error(path.string() + ": not valid JSON (a number too large for a double)");
  }
}

void for_each_jsonl_object(const std::filesystem::path& path, const std::function<void(const Json&, int64_t)>& fn) {
  std::ifstream in(path);
  if (!in) throw Error("cannot read " + path.string() + ": no such file or not readable");
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    Json object;
    try {
      object = Json::parse(line);
    } catch (const nlohmann::json::exception&) {  // parse_error, or out_of_range for a number beyond a double
      throw Error(path.string() + ":" + std::to_string(number) + ": not a valid JSON line");
    }
    if (!object.is_object()) throw Error(path.string() + ":" + std::to_string(number) + ": not a JSON object");
    fn(object, number);
  }
}

void write_json_atomic(const std::filesystem::path& path, const Json& value) {
  write_file_atomic(path, value.dump(2) + "\n");
}

}  // namespace garden
