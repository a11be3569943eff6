#include "garden/model/model_folder.h"

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/core/json.h"
#include "garden/core/safetensors.h"

namespace garden::model {

namespace fs = std::filesystem;

namespace {
constexpr const char* kTokenizerFile = "tokenizer.model";
}

std::string store_tokenizer(const fs::path& dir, const std::string& spec) {
  if (spec.empty() || spec == "bytes") return spec;  // empty: a model saved without a tokenizer (tests)
  const fs::path source(spec);
  if (!fs::is_regular_file(source)) throw Error("tokenizer " + spec + ": no such file");
  const fs::path target = dir / kTokenizerFile;
  std::error_code same_error;
  if (!(fs::exists(target) && fs::equivalent(source, target, same_error))) write_file_atomic(target, read_file(source));
  return kTokenizerFile;
}

std::string folder_tokenizer_spec(const fs::path& dir, const std::string& recorded) {
  if (recorded.empty() || recorded == "bytes" || fs::path(recorded).is_absolute()) return recorded;
  return (dir / recorded).string();
}

void save_model(const fs::path& dir, Transformer& model, const std::string& tokenizer_spec) {
  fs::create_directories(dir);
  const std::string stored = store_tokenizer(dir, tokenizer_spec);
  save_safetensors(dir / "model.safetensors", module_tensors(*model), {{"format", "garden"}});
  write_json_atomic(dir / "config.json", Json{{"model", model->config().to_json()}, {"tokenizer", stored}});
}

LoadedModel load_model(const fs::path& dir, torch::Device device) {
  if (!fs::exists(dir)) throw Error("model " + dir.string() + ": no such folder");
  if (!fs::exists(dir / "model.safetensors") || !fs::exists(dir / "config.json"))
    throw Error("model " + dir.string() + ": no model.safetensors and config.json (a model folder or a training run is needed)");
  const auto config_path = (dir / "config.json").string();
  const auto config_json = read_json_file(dir / "config.json");
  if (!config_json.contains("model")) throw Error(config_path + ": no 'model' section");
  LoadedModel loaded;
  loaded.model = Transformer(TransformerConfig::from_json(config_json["model"], config_path));
  loaded.tokenizer_spec = load_folder_weights(dir, *loaded.model, config_json, config_path);
  loaded.model->to(device);
  return loaded;
}

std::string load_folder_weights(const fs::path& dir, torch::nn::Module& module, const Json& config, const std::string& where) {
  load_module_tensors(module, load_safetensors(dir / "model.safetensors"), dir / "model.safetensors");
  std::string recorded;
  read_field(config, "tokenizer", recorded, where);
  return folder_tokenizer_spec(dir, recorded);
}

}  // namespace garden::model
