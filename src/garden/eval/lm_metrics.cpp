#include "garden/eval/lm_metrics.h"

#include <cmath>

#include "garden/core/error.h"
#include "garden/train/batches.h"

namespace garden::eval {

Json LmMetrics::to_json() const {
  return Json{{"loss", loss}, {"ppl", perplexity}, {"bits_per_byte", bits_per_byte}, {"tokens", tokens}, {"bytes", bytes}};
}

LmMetrics evaluate_text(model::Transformer& model, const text::Tokenizer& tokenizer, const std::string& text,
                        int64_t seq, int64_t batch) {
  if (seq < 2) usage_error("--seq must be >= 2");
  if (batch < 1) usage_error("--batch must be >= 1, got " + std::to_string(batch));
  torch::NoGradGuard no_grad;
  const bool was_training = model->is_training();
  model->eval();
  auto device = model->token_embedding->weight.device();
  const auto tokens = train::encode_corpus(tokenizer, text);
  if (tokens.empty()) throw Error("evaluation text is empty");
  // Window w predicts tokens [w*(seq-1), (w+1)*(seq-1)) from BOS + the tokens before them in
  // the window, so every token of the text is predicted exactly once.
  const int64_t n = static_cast<int64_t>(tokens.size()), step = seq - 1;
  double nats = 0;
  int64_t counted = 0;
  std::vector<int64_t> starts;
  for (int64_t s = 0; s < n; s += step) starts.push_back(s);
  for (size_t i = 0; i < starts.size(); i += static_cast<size_t>(batch)) {
    const size_t end = std::min(starts.size(), i + static_cast<size_t>(batch));
    const int64_t b = static_cast<int64_t>(end - i);
    auto input = torch::full({b, seq}, tokenizer.bos_id(), torch::kLong);
    auto target = torch::zeros({b, seq}, torch::kLong);
    auto mask = torch::zeros({b, seq});
    for (int64_t r = 0; r < b; ++r) {
      const int64_t s = starts[i + static_cast<size_t>(r)];
      const int64_t len = std::min(step, n - s);
      for (int64_t t = 0; t < len; ++t) {
        input[r][t + 1] = tokens[static_cast<size_t>(s + t)];
        target[r][t] = tokens[static_cast<size_t>(s + t)];
        mask[r][t] = 1.0;
      }
    }
    auto logits = model->forward(input.to(device)).logits.to(torch::kFloat32);  // [B,T,V]
    auto nll = torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(-1)}), target.reshape({-1}).to(device),
                                                    torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
    nats += (nll * mask.reshape({-1}).to(device)).sum().item<double>();
    counted += static_cast<int64_t>(mask.sum().item<double>());
  }
  model->train(was_training);
  LmMetrics m;
  m.tokens = counted;
  m.bytes = static_cast<int64_t>(text.size());
  m.loss = nats / static_cast<double>(counted);
  m.perplexity = std::exp(m.loss);
  m.bits_per_byte = nats / (std::log(2.0) * static_cast<double>(m.bytes));
  return m;
}

}  // namespace garden::eval
