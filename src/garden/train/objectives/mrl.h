// Matryoshka classification (Kusupati et al., arXiv:2205.13147, eq. 1): one linear classifier
// per nested width m reads the first m coordinates of a shared representation z, and the
// cross-entropies are summed with weights c_m (all 1 in the paper; the official
// Matryoshka_CE_Loss sums, it does not average). MRL-E ties the classifiers: width m uses
// the first m columns of one C x d matrix and one shared bias.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace garden::train {

struct MrlHeadConfig {
  std::vector<int64_t> widths;  // increasing, the last at most `dims`
  int64_t dims = 0;             // d, the representation size
  int64_t classes = 0;
  bool efficient = false;       // MRL-E
  // Throws a usage error naming the problem (empty, not increasing, beyond d, no classes).
  void validate() const;
};

class MrlClassifierImpl : public torch::nn::Module {
 public:
  explicit MrlClassifierImpl(const MrlHeadConfig& config);
  // z: [B,d] -> one [B,C] logits tensor per width, in the config's order.
  std::vector<torch::Tensor> forward(const torch::Tensor& z);
  const MrlHeadConfig& config() const { return config_; }

 private:
  MrlHeadConfig config_;
  std::vector<torch::nn::Linear> heads_;  // separate heads: one per width
  torch::Tensor weight_, bias_;           // MRL-E: [C,d] and [C]
};
TORCH_MODULE(MrlClassifier);

enum class MrlAggregation { sum, mean };
MrlAggregation parse_mrl_aggregation(const std::string& name);

// sum (or mean) over widths of weight_m x cross_entropy(logits_m, labels); empty weights
// mean 1 each.
torch::Tensor mrl_cross_entropy(const std::vector<torch::Tensor>& logits, const torch::Tensor& labels,
                                const std::vector<double>& weights = {}, MrlAggregation aggregation = MrlAggregation::sum);

}  // namespace garden::train
