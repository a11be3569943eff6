// Model folders: every saved model is one self-contained folder holding model.safetensors,
// config.json ({"model": transformer config, "tokenizer": spec, ...}) and, when it uses a
// SentencePiece tokenizer, its tokenizer.model. config.json names the tokenizer relative to
// the folder, so a folder can be moved, copied, served or exported whole.
// A training run folder is not a model folder: train/run_folder.h finds the model in it.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <string>

#include "garden/core/json.h"
#include "garden/model/transformer.h"

namespace garden::model {

// Copies the tokenizer named by `spec` ("bytes" or a SentencePiece file) into `dir` and
// returns the spec config.json records for it: "bytes" or "tokenizer.model" (an empty spec,
// a model without a tokenizer, stays empty).
std::string store_tokenizer(const std::filesystem::path& dir, const std::string& spec);
// The tokenizer spec a folder's config.json records, resolved: a relative path lies inside the
// folder; an absolute one (folders written before models carried their tokenizer) is kept.
std::string folder_tokenizer_spec(const std::filesystem::path& dir, const std::string& recorded);

void save_model(const std::filesystem::path& dir, Transformer& model, const std::string& tokenizer_spec);

// Loads dir/model.safetensors into `module` (every tensor must match) and returns the
// tokenizer spec of the folder's config.json (`config`, read from `where`), resolved.
std::string load_folder_weights(const std::filesystem::path& dir, torch::nn::Module& module, const Json& config, const std::string& where);
struct LoadedModel {
  Transformer model{nullptr};
  std::string tokenizer_spec;  // resolved: loadable as is, and storable into another folder
};
// `dir` is a model folder; errors name it and what is missing.
LoadedModel load_model(const std::filesystem::path& dir, torch::Device device = torch::kCPU);

}  // namespace garden::model
