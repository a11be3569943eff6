// Matryoshka classification of texts (the paper's ImageNet experiment with texts): an
// embedding model's representation z (before normalisation) read by nested classifier heads
// (objectives/mrl.h), trained with the summed cross-entropy by the shared Trainer. A fixed-
// feature (FF) baseline of width m is the same model with a projection to m and one head.
// Evaluation per width: the head's top-1, 1-NN top-1 (cosine of re-normalised prefixes,
// test against train), and for models without heads at a width (truncation, SVD) a linear
// probe fit on frozen features.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

#include "garden/model/embedder.h"
#include "garden/text/tokenizer.h"
#include "garden/train/objectives/mrl.h"
#include "garden/train/trainer.h"

namespace garden::train {

struct LabelledTexts {
  std::vector<std::string> texts;
  std::vector<int64_t> labels;  // 0..classes-1
  int64_t classes = 0;
};

class MrlClassificationModelImpl : public torch::nn::Module {
 public:
  MrlClassificationModelImpl(model::Embedder encoder, const MrlHeadConfig& head);
  // One [B,C] logits tensor per width.
  std::vector<torch::Tensor> forward(const model::EmbeddingBatch& batch);
  model::Embedder encoder{nullptr};
  MrlClassifier head{nullptr};
};
TORCH_MODULE(MrlClassificationModel);

// Batches of train.batch texts from a seeded per-epoch permutation (pure in the micro-batch
// index, so a resumed run sees the same batches); `val` (may be empty) gives val_loss and
// val_top1 at the widest head. save() writes the whole model to dir/model.safetensors and
// the encoder alone to dir/encoder (a garden embedding model). The references must outlive
// the training.
Objective mrl_classification_objective(MrlClassificationModel& model, const text::Tokenizer& tokenizer, const LabelledTexts& train_data,
                                       const LabelledTexts& val, const std::vector<double>& weights, MrlAggregation aggregation,
                                       const TrainConfig& train, const std::string& tokenizer_spec);

// Softmax probabilities [N,C] of every head, in the head's width order.
std::vector<torch::Tensor> head_probabilities(MrlClassificationModel& model, const text::Tokenizer& tokenizer,
                                              const std::vector<std::string>& texts, int64_t batch);

// Fraction of rows whose argmax equals the label.
double top1_accuracy(const torch::Tensor& scores, const std::vector<int64_t>& labels);

// 1-NN accuracy by cosine of the first `width` coordinates (re-normalised): each test row
// takes the label of its most similar train row (ties: the lower train row).
double nearest_neighbour_accuracy(const torch::Tensor& train_features, const std::vector<int64_t>& train_labels,
                                  const torch::Tensor& test_features, const std::vector<int64_t>& test_labels, int64_t width);

// A softmax-regression probe on frozen features (full-batch Adam, `steps` steps, seeded),
// fit on train rows, scored on test rows: the accuracy of a linear classifier at that width.
double linear_probe_accuracy(const torch::Tensor& train_features, const std::vector<int64_t>& train_labels,
                             const torch::Tensor& test_features, const std::vector<int64_t>& test_labels, int64_t classes,
                             int64_t steps, uint64_t seed);

}  // namespace garden::train
