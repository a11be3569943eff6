#include "garden/core/json.h"

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

void write_json_atomic(const std::filesystem::path& path, const Json& value) {
  write_file_atomic(path, value.dump(2) + "\n");
}

}  // namespace garden
