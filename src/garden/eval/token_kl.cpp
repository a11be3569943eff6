#include "garden/eval/token_kl.h"

#include <fmt/core.h>

#include "garden/core/error.h"
#include "garden/model/model_folder.h"
#include "garden/text/tokenizer.h"
#include "garden/train/run_folder.h"
#include "garden/train/objectives/constrained_sft.h"

namespace garden::eval {

torch::Tensor kl_of_logits(const torch::Tensor& a, const torch::Tensor& b) {
  const auto la = torch::log_softmax(a, -1), lb = torch::log_softmax(b, -1);
  return (la.exp() * (la - lb)).sum(-1);
}

TokenKl per_token_kl(model::Transformer& a, model::Transformer& b, const train::BatchSource& data, int64_t positions) {
  if (positions < 1) usage_error(fmt::format("--positions {} must be >= 1", positions));
  torch::NoGradGuard no_grad;
  a->eval();
  b->eval();
  const auto device = a->parameters().front().device();
  std::vector<double> sum(static_cast<size_t>(positions), 0.0);
  TokenKl out;
  double total = 0;
  out.examples.assign(static_cast<size_t>(positions), 0);
  for (const auto& batch : data.eval_batches()) {
    model::ForwardOptions fo;
    if (batch.attention_mask.defined()) fo.attention_mask = batch.attention_mask.to(device);
    const auto input = batch.input.to(device);
    const auto kl = kl_of_logits(a->forward(input, fo).logits.to(torch::kFloat), b->forward(input, fo).logits.to(torch::kFloat)).to(torch::kCPU);
    const auto where = train::response_positions(batch.loss_mask, batch.input.size(0), batch.input.size(1));
    auto k = kl.accessor<float, 2>();
    auto w = where.accessor<float, 2>();
    for (int64_t i = 0; i < kl.size(0); ++i)
      for (int64_t j = 0; j < kl.size(1); ++j) {
        const auto t = static_cast<int64_t>(w[i][j]);
        if (t < 1) continue;
        total += k[i][j];
        ++out.tokens;
        if (t > positions) continue;
        sum[static_cast<size_t>(t - 1)] += k[i][j];
        ++out.examples[static_cast<size_t>(t - 1)];
      }
  }
  out.mean = out.tokens > 0 ? total / static_cast<double>(out.tokens) : std::nan("");
  for (size_t t = 0; t < sum.size(); ++t) out.kl.push_back(out.examples[t] > 0 ? sum[t] / static_cast<double>(out.examples[t]) : std::nan(""));
  return out;
}

TokenKl run_token_kl(const TokenKlJob& job) {
  if (job.model.empty() || job.reference.empty()) usage_error("--model and --reference are both required");
  if (job.responses.empty()) usage_error("--responses is required (prompt-completion JSONL)");
  if (job.batch < 1) usage_error(fmt::format("--batch {} must be >= 1", job.batch));
  auto a = model::load_model(train::model_folder(job.model), job.device);
  auto b = model::load_model(train::model_folder(job.reference), job.device);
  if (a.model->config().vocab != b.model->config().vocab)
    throw Error(fmt::format("--reference {}: a vocabulary of {} against {}'s {}", job.reference, b.model->config().vocab, job.model,
                            a.model->config().vocab));
  const auto tokenizer = text::load_tokenizer(a.tokenizer_spec);
  const train::PromptCompletionBatches data(job.responses, job.responses, *tokenizer, a.model->config().max_seq, job.batch, 0);
  return per_token_kl(a.model, b.model, data, job.positions);
}

}  // namespace garden::eval
