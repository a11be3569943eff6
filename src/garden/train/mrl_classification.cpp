#include "garden/train/mrl_classification.h"

#include <fmt/core.h>

#include <algorithm>

#include "garden/core/error.h"
#include "garden/core/json.h"
#include "garden/core/safetensors.h"
#include "garden/train/embedder_training.h"

namespace garden::train {

MrlClassificationModelImpl::MrlClassificationModelImpl(model::Embedder encoder_, const MrlHeadConfig& head_config) {
  if (encoder_->dims() != head_config.dims)
    usage_error(fmt::format("the Matryoshka head reads {} dimensions but the encoder gives {}", head_config.dims, encoder_->dims()));
  encoder = register_module("encoder", std::move(encoder_));
  head = register_module("head", MrlClassifier(head_config));
}

std::vector<torch::Tensor> MrlClassificationModelImpl::forward(const model::EmbeddingBatch& batch) {
  const auto device = encoder->backbone->token_embedding->weight.device();
  return head(encoder->features(batch.tokens.to(device), batch.attention_mask.to(device), batch.pool_mask.to(device)));
}

namespace {

void check_data(const LabelledTexts& data, const std::string& name) {
  if (data.texts.size() != data.labels.size())
    throw Error(fmt::format("{}: {} texts but {} labels", name, data.texts.size(), data.labels.size()));
  for (int64_t label : data.labels)
    if (label < 0 || label >= data.classes) throw Error(fmt::format("{}: label {} outside 0..{}", name, label, data.classes - 1));
}

}  // namespace

Objective mrl_classification_objective(MrlClassificationModel& model, const text::Tokenizer& tokenizer, const LabelledTexts& train_data,
                                       const LabelledTexts& val, const std::vector<double>& weights, MrlAggregation aggregation,
                                       const TrainConfig& train, const std::string& tokenizer_spec) {
  if (train_data.texts.empty()) throw Error("Matryoshka classification: no training texts");
  check_data(train_data, "training data");
  check_data(val, "validation data");
  if (train_data.classes != model->head->config().classes)
    usage_error(fmt::format("the data has {} classes, the head {}", train_data.classes, model->head->config().classes));
  Objective objective;
  const int64_t max_tokens = model->encoder->config().max_tokens;
  const model::CaseFolding case_folding = model->encoder->config().case_folding;
  objective.micro_step = [&model, &tokenizer, &train_data, weights, aggregation, train, max_tokens, case_folding](int64_t index) {
    std::vector<std::string> texts;
    std::vector<int64_t> labels;
    for (int64_t i : pair_batch_indices(static_cast<int64_t>(train_data.texts.size()), train.batch, index, train.seed)) {
      texts.push_back(train_data.texts[static_cast<size_t>(i)]);
      labels.push_back(train_data.labels[static_cast<size_t>(i)]);
    }
    const auto batch = model::make_embedding_batch(tokenizer, texts, "", max_tokens, case_folding);
    const auto target = torch::tensor(labels, torch::kLong).to(model->encoder->backbone->token_embedding->weight.device());
    return MicroStep{mrl_cross_entropy(model->forward(batch), target, weights, aggregation), batch.attention_mask.sum().item<int64_t>()};
  };
  objective.save = [&model, tokenizer_spec](const std::filesystem::path& dir) {
    std::filesystem::create_directories(dir);
    save_safetensors(dir / "model.safetensors", module_tensors(*model), {{"format", "garden-mrl-classifier"}});
    const auto& head = model->head->config();
    write_json_atomic(dir / "config.json", Json{{"model", model->encoder->backbone->config().to_json()},
                                                {"embedder", model->encoder->config().to_json()},
                                                {"mrl_head", {{"widths", head.widths}, {"classes", head.classes}, {"efficient", head.efficient}}},
                                                {"tokenizer", tokenizer_spec}});
    model::save_embedder(dir / "encoder", model->encoder, tokenizer_spec);
  };
  if (!val.texts.empty()) {
    objective.evaluate = [&model, &tokenizer, &val, weights, aggregation, train](int64_t, Json& metrics) {
      const auto probabilities = head_probabilities(model, tokenizer, val.texts, std::max<int64_t>(train.batch, 32));
      // The loss from the probabilities: sum (or mean) over widths of the mean -log p(label).
      const auto target = torch::tensor(val.labels, torch::kLong);
      double loss = 0;
      for (size_t w = 0; w < probabilities.size(); ++w)
        loss += (weights.empty() ? 1.0 : weights[w]) *
                -probabilities[w].gather(1, target.view({-1, 1})).clamp_min(1e-30).log().mean().item<double>();
      if (aggregation == MrlAggregation::mean) loss /= static_cast<double>(probabilities.size());
      metrics["val_loss"] = loss;
      metrics["val_top1"] = top1_accuracy(probabilities.back(), val.labels);
    };
  }
  const auto& head = model->head->config();
  objective.description = Json{{"model", model->encoder->backbone->config().to_json()},
                               {"embedder", model->encoder->config().to_json()},
                               {"mrl_head", {{"widths", head.widths}, {"classes", head.classes}, {"efficient", head.efficient}}},
                               {"aggregation", aggregation == MrlAggregation::sum ? "sum" : "mean"},
                               {"tokenizer", tokenizer_spec},
                               {"data", fmt::format("{} training texts, {} validation texts", train_data.texts.size(), val.texts.size())}};
  return objective;
}

std::vector<torch::Tensor> head_probabilities(MrlClassificationModel& model, const text::Tokenizer& tokenizer,
                                              const std::vector<std::string>& texts, int64_t batch) {
  const auto features = model::encode_features(model->encoder, tokenizer, texts, batch);
  torch::NoGradGuard no_grad;
  const bool was_training = model->is_training();
  model->eval();
  const auto device = model->encoder->backbone->token_embedding->weight.device();
  std::vector<torch::Tensor> out;
  for (const auto& logits : model->head(features.to(device))) out.push_back(torch::softmax(logits, 1).to(torch::kCPU, torch::kFloat32));
  model->train(was_training);
  return out;
}

double top1_accuracy(const torch::Tensor& scores, const std::vector<int64_t>& labels) {
  if (scores.size(0) != static_cast<int64_t>(labels.size()) || labels.empty())
    throw Error(fmt::format("top-1 accuracy: {} rows of scores for {} labels", scores.size(0), labels.size()));
  const auto predicted = scores.argmax(1).to(torch::kLong);
  return (predicted == torch::tensor(labels, torch::kLong)).to(torch::kDouble).mean().item<double>();
}

double nearest_neighbour_accuracy(const torch::Tensor& train_features, const std::vector<int64_t>& train_labels,
                                  const torch::Tensor& test_features, const std::vector<int64_t>& test_labels, int64_t width) {
  if (train_features.size(0) != static_cast<int64_t>(train_labels.size()) || test_features.size(0) != static_cast<int64_t>(test_labels.size()))
    throw Error("1-NN accuracy: features and labels differ in rows");
  torch::NoGradGuard no_grad;
  auto prefix = [width](const torch::Tensor& f) {
    return torch::nn::functional::normalize(f.narrow(1, 0, width).to(torch::kFloat64), torch::nn::functional::NormalizeFuncOptions().dim(1));
  };
  // argmax returns the first maximum: a tie goes to the lower train row.
  const auto nearest = prefix(test_features).matmul(prefix(train_features).t()).argmax(1);
  const auto predicted = torch::tensor(train_labels, torch::kLong).index_select(0, nearest);
  return (predicted == torch::tensor(test_labels, torch::kLong)).to(torch::kDouble).mean().item<double>();
}

double linear_probe_accuracy(const torch::Tensor& train_features, const std::vector<int64_t>& train_labels,
                             const torch::Tensor& test_features, const std::vector<int64_t>& test_labels, int64_t classes,
                             int64_t steps, uint64_t seed) {
  torch::manual_seed(static_cast<int64_t>(seed));
  // Standardised inputs make one learning rate fit every feature scale (SVD components differ by orders).
  const auto mean = train_features.mean(0, true), scale = train_features.std(0, true, true).clamp_min(1e-6);
  const auto x = ((train_features - mean) / scale).detach();
  const auto target = torch::tensor(train_labels, torch::kLong);
  torch::nn::Linear probe(train_features.size(1), classes);
  torch::optim::Adam optimizer(probe->parameters(), torch::optim::AdamOptions(0.05));
  for (int64_t step = 0; step < steps; ++step) {
    optimizer.zero_grad();
    torch::nn::functional::cross_entropy(probe(x), target).backward();
    optimizer.step();
  }
  torch::NoGradGuard no_grad;
  return top1_accuracy(probe((test_features - mean) / scale), test_labels);
}

}  // namespace garden::train
