#include "garden/train/generative_embedding.h"

#include <fmt/core.h>

#include <cmath>

#include "garden/core/error.h"
#include "garden/train/embedder_training.h"

namespace garden::train {

void GenerativeLossWeights::validate() const {
  if (!(std::isfinite(reconstruction) && reconstruction >= 0) || !(std::isfinite(alignment) && alignment >= 0))
    usage_error(fmt::format("loss weights must be finite and >= 0, got reconstruction {} and alignment {}", reconstruction, alignment));
  if (reconstruction == 0 && alignment == 0) usage_error("the reconstruction and alignment weights are both 0: nothing to train");
}

GenerativeLosses generative_batch_losses(model::GenerativeEmbedder& model, const std::vector<const GenerativeExample*>& batch,
                                         const GenerativeLossWeights& weights) {
  if (batch.empty()) throw Error("generative embedding: an empty batch");
  std::vector<std::vector<int64_t>> queries, responses;
  std::vector<float> teacher;
  const int64_t dims = model->config().embedding_dims;
  for (const auto* example : batch) {
    queries.push_back(example->query);
    responses.push_back(example->response);
    if (static_cast<int64_t>(example->teacher.size()) != dims)
      throw Error(fmt::format("generative embedding: a teacher vector has {} dimensions, the model's embedding {}", example->teacher.size(), dims));
    teacher.insert(teacher.end(), example->teacher.begin(), example->teacher.end());
  }
  const auto encoded = model->encode(queries);
  GenerativeLosses losses;
  losses.total = torch::zeros({}, encoded.embedding.options());
  if (weights.reconstruction > 0) {
    losses.reconstruction = model->reconstruction_loss(encoded.soft_prompt, responses);
    losses.total = losses.total + weights.reconstruction * losses.reconstruction;
  }
  if (weights.alignment > 0) {
    const auto targets = torch::tensor(teacher).view({static_cast<int64_t>(batch.size()), dims}).to(encoded.embedding.device());
    losses.alignment = model::alignment_loss(encoded.embedding, targets);
    losses.total = losses.total + weights.alignment * losses.alignment;
  }
  return losses;
}

Objective generative_embedding_objective(model::GenerativeEmbedder& model, const std::vector<GenerativeExample>& train,
                                         const std::vector<GenerativeExample>& held_out, const GenerativeLossWeights& weights,
                                         const TrainConfig& config, const std::string& tokenizer_spec) {
  weights.validate();
  if (train.empty()) throw Error("generative embedding: no training examples");
  Objective objective;
  objective.micro_step = [&model, &train, weights, config](int64_t index) {
    std::vector<const GenerativeExample*> batch;
    int64_t tokens = 0;
    for (int64_t i : pair_batch_indices(static_cast<int64_t>(train.size()), config.batch, index, config.seed)) {
      batch.push_back(&train[static_cast<size_t>(i)]);
      tokens += static_cast<int64_t>(batch.back()->query.size() + batch.back()->response.size());
    }
    return MicroStep{generative_batch_losses(model, batch, weights).total, tokens};
  };
  objective.save = [&model, tokenizer_spec](const std::filesystem::path& dir) { model::save_generative_embedder(dir, model, tokenizer_spec); };
  if (!held_out.empty()) {
    objective.evaluate = [&model, &held_out, config, weights](int64_t, Json& metrics) {
      torch::NoGradGuard no_grad;
      const bool was_training = model->is_training();
      model->eval();
      double reconstruction = 0, alignment = 0;
      int64_t batches = 0;
      const size_t size = static_cast<size_t>(config.batch);
      for (size_t start = 0; start < held_out.size(); start += size) {
        std::vector<const GenerativeExample*> batch;
        for (size_t i = start; i < std::min(held_out.size(), start + size); ++i) batch.push_back(&held_out[i]);
        const auto losses = generative_batch_losses(model, batch, GenerativeLossWeights{});
        reconstruction += losses.reconstruction.item<double>();
        alignment += losses.alignment.item<double>();
        ++batches;
      }
      // Cosine with the example's own teacher vector against the next example's.
      std::vector<std::vector<int64_t>> queries;
      for (const auto& example : held_out) queries.push_back(example.query);
      const auto embeddings = torch::nn::functional::normalize(model->encode(queries).embedding, torch::nn::functional::NormalizeFuncOptions().dim(1));
      std::vector<float> flat;
      for (const auto& example : held_out) flat.insert(flat.end(), example.teacher.begin(), example.teacher.end());
      const auto teachers = torch::nn::functional::normalize(
          torch::tensor(flat).view({static_cast<int64_t>(held_out.size()), -1}).to(embeddings.device()),
          torch::nn::functional::NormalizeFuncOptions().dim(1));
      const double own = (embeddings * teachers).sum(1).mean().item<double>();
      const double other = (embeddings * teachers.roll(1, 0)).sum(1).mean().item<double>();
      model->train(was_training);
      metrics["reconstruction_loss"] = reconstruction / static_cast<double>(batches);
      metrics["alignment_loss"] = alignment / static_cast<double>(batches);
      metrics["val_loss"] = weights.reconstruction * metrics["reconstruction_loss"].get<double>() +
                            weights.alignment * metrics["alignment_loss"].get<double>();
      metrics["cosine_own_teacher"] = own;
      metrics["cosine_other_teacher"] = other;
    };
  }
  objective.description = Json{{"model", model->backbone->config().to_json()},
                               {"generative", model->config().to_json()},
                               {"objective", {{"kind", "llm2vec-gen"}, {"lambda_reconstruction", weights.reconstruction},
                                              {"lambda_alignment", weights.alignment}}},
                               {"tokenizer", tokenizer_spec},
                               {"data", fmt::format("{} training queries, {} held out", train.size(), held_out.size())}};
  return objective;
}

}  // namespace garden::train
