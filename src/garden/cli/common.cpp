#include "garden/cli/common.h"

#include <fmt/core.h>

#include <chrono>
#include <ctime>
#include <sstream>

#include "garden/core/error.h"
#include "garden/core/files.h"

namespace garden::cli {

void add_runtime_options(CLI::App& app, RuntimeOptions& options) {
  app.add_option("--threads", options.threads, "libtorch threads (0 = all cores)")->capture_default_str();
  app.add_option("--device", options.device, "auto | cpu | cuda")->capture_default_str();
  app.add_option("--data", options.data, "data root holding collections (default: $GARDEN_DATA)");
  app.add_option("--cache", options.cache, "cache for shared artifacts (default: $GARDEN_CACHE or ~/.cache/garden)");
}

void add_run_folder_options(CLI::App& app, RunFolderOptions& options) {
  app.add_option("--config", options.config, "cfg.json with the job's sections; flags override it");
  app.add_option("--out", options.out, "run folder")->capture_default_str();
  app.add_flag("--resume", options.resume, "continue from the run folder's latest checkpoint");
  app.add_option("--stop-after", options.stop_after, "stop with a checkpoint after this many steps (resume later)");
}

void add_encoder_options(CLI::App& app, EncoderOptions& options) {
  app.add_option("--model", options.model, "embedding model folder or training run")->required();
  app.add_option("--batch", options.batch, "texts per forward pass")->capture_default_str();
}

void add_json_flags(CLI::App& app, const Json& defaults, std::map<std::string, std::string>& given, const std::string& group) {
  for (const auto& [key, value] : defaults.items()) {
    std::string flag = "--" + key;
    for (auto& c : flag) if (c == '_') c = '-';
    app.add_option_function<std::string>(
           flag, [&given, key = key](const std::string& v) { given[key] = v; }, "default " + value.dump())
        ->group(group);
  }
}

void apply_json_flags(const std::map<std::string, std::string>& given, const Json& defaults, Json& target) {
  for (const auto& [key, text] : given) {
    const auto& type_of = defaults.at(key);
    std::string flag = "--" + key;
    for (auto& c : flag) if (c == '_') c = '-';
    try {
      if (type_of.is_boolean()) {
        if (text != "true" && text != "false" && text != "1" && text != "0") throw std::invalid_argument(text);
        target[key] = text == "true" || text == "1";
      } else if (type_of.is_number_integer() || type_of.is_number_unsigned()) {
        size_t used = 0;
        const long long v = std::stoll(text, &used);
        if (used != text.size()) throw std::invalid_argument(text);
        target[key] = v;
      } else if (type_of.is_number_float()) {
        size_t used = 0;
        const double v = std::stod(text, &used);
        if (used != text.size()) throw std::invalid_argument(text);
        target[key] = v;
      } else if (type_of.is_array()) {  // a comma-separated list of integers, e.g. --mrl 8,16,32
        Json list = Json::array();
        std::stringstream items(text);
        for (std::string item; std::getline(items, item, ',');) {
          size_t used = 0;
          const long long v = std::stoll(item, &used);
          if (used != item.size()) throw std::invalid_argument(text);
          list.push_back(v);
        }
        target[key] = list;
      } else {
        target[key] = text;
      }
    } catch (const std::logic_error&) {
      usage_error(flag + ": '" + text + "' is not a valid " + std::string(type_of.type_name()));
    }
  }
}

std::string today_utc() {
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[16];
  std::strftime(text, sizeof text, "%Y-%m-%d", &utc);
  return text;
}

std::pair<int64_t, int64_t> parse_int_range(const std::string& text, const std::string& flag) {
  const auto dots = text.find("..");
  try {
    size_t used = 0;
    const int64_t from = std::stoll(text.substr(0, dots), &used);
    if (used != text.substr(0, dots).size()) throw std::invalid_argument("range");
    int64_t to = from;
    if (dots != std::string::npos) {
      to = std::stoll(text.substr(dots + 2), &used);
      if (used != text.size() - dots - 2) throw std::invalid_argument("range");  // "4..7x"
    }
    if (from < 1 || to < from) throw std::invalid_argument("range");
    return {from, to};
  } catch (const std::exception&) {
    usage_error(fmt::format("{} must be a positive number or a range like 4..16, not '{}'", flag, text));
  }
}

}  // namespace garden::cli
