#include "garden/eval/compression.h"

#include <fmt/core.h>

#include <cmath>

#include "garden/core/error.h"
#include "garden/core/json.h"
#include "garden/model/model_folder.h"
#include "garden/text/corpus.h"
#include "garden/train/rlvr.h"
#include "garden/train/run_folder.h"

namespace garden::eval {

Json CompressionRate::to_json() const {
  return {{"bits_per_token", bits_per_token}, {"bits_per_byte", bits_per_byte}, {"tokens", tokens}, {"bytes", bytes}};
}

CompressionRate compression_rate(model::Transformer& model, const std::vector<train::TokenRow>& rows, int64_t bytes, int64_t batch) {
  if (rows.empty()) throw Error("compression rate: no text to code");
  if (batch < 1) usage_error(fmt::format("compression rate: batch {} must be >= 1", batch));
  for (size_t r = 0; r < rows.size(); ++r)
    if (static_cast<int64_t>(rows[r].tokens.size()) > model->config().max_seq + 1)
      throw Error(fmt::format("compression rate: document {} has {} tokens, more than the model's context of {} + 1", r + 1,
                              rows[r].tokens.size(), model->config().max_seq));
  torch::NoGradGuard no_grad;
  const bool was_training = model->is_training();
  model->eval();
  const auto device = model->parameters().front().device();
  // The rows are the evaluation set; the one training row is never drawn.
  const train::TokenRowBatches data({rows.front()}, rows, 0, batch, 0);
  double nats = 0;
  CompressionRate out;
  for (const auto& b : data.eval_batches()) {
    model::ForwardOptions fo;
    if (b.attention_mask.defined()) fo.attention_mask = b.attention_mask.to(device);
    const auto log_probs = torch::log_softmax(model->forward(b.input.to(device), fo).logits.to(torch::kFloat), -1)
                               .gather(2, b.target.to(device).unsqueeze(2))
                               .squeeze(2);
    const auto mask = b.loss_mask.to(device).to(torch::kFloat);
    nats -= (log_probs * mask).sum().item<double>();
    out.tokens += static_cast<int64_t>(mask.sum().item<double>());
  }
  model->train(was_training);
  if (out.tokens == 0) throw Error("compression rate: no token to code");
  out.bytes = bytes;
  out.bits_per_token = nats / std::log(2.0) / static_cast<double>(out.tokens);
  out.bits_per_byte = bytes > 0 ? nats / std::log(2.0) / static_cast<double>(bytes) : std::nan("");
  return out;
}

CompressionRate compression_rate_of_lines(model::Transformer& model, const text::Tokenizer& tokenizer, const std::vector<std::string>& lines,
                                          int64_t batch) {
  int64_t bytes = 0;
  for (const auto& line : lines) bytes += static_cast<int64_t>(line.size());
  const auto rows = train::line_token_rows(tokenizer, lines);
  return compression_rate(model, rows, bytes, batch);
}

CompressionRate compression_rate_of_responses(model::Transformer& model, const text::Tokenizer& tokenizer,
                                              const std::vector<std::string>& prompts, const std::vector<std::string>& completions,
                                              int64_t batch) {
  int64_t bytes = 0;
  for (const auto& c : completions) bytes += static_cast<int64_t>(c.size());
  return compression_rate(model, train::completion_token_rows(tokenizer, prompts, completions), bytes, batch);
}

CompressionRate run_compression(const CompressionJob& job) {
  if (job.format != "text" && job.format != "prompt-completion")
    usage_error("--format must be text or prompt-completion, got '" + job.format + "'");
  auto loaded = model::load_model(train::model_folder(job.model), job.device);
  const auto tokenizer = text::load_tokenizer(loaded.tokenizer_spec);
  if (job.format == "text") return compression_rate_of_lines(loaded.model, *tokenizer, text::read_documents(job.input, job.field), job.batch);
  std::vector<std::string> prompts, completions;
  for_each_jsonl_object(job.input, [&](const Json& object, int64_t line) {
    const auto p = object.find("prompt"), c = object.find("completion");
    if (p == object.end() || c == object.end() || !p->is_string() || !c->is_string())
      throw Error(fmt::format("{}:{}: needs string fields 'prompt' and 'completion'", job.input, line));
    prompts.push_back(p->get<std::string>());
    completions.push_back(c->get<std::string>());
  });
  if (prompts.empty()) throw Error(job.input + ": no rows");
  return compression_rate_of_responses(loaded.model, *tokenizer, prompts, completions, job.batch);
}

}  // namespace garden::eval
