#include "garden/core/json.h"

#include <fstream>

#include "garden/core/files.h"

namespace garden {

Json read_json_file(const std::filesystem::path& path) {
  const std::string text = read_file(path);
  try {
    return Json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(path.string() + ": not valid JSON (byte " + std::to_string(e.byte) + ")");
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
    } catch (const nlohmann::json::parse_error&) {
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
