#include "garden/model/beam_search.h"

#include <fmt/core.h>

#include <algorithm>
#include <limits>
#include <map>

#include "garden/core/error.h"
#include "garden/model/kv_cache.h"

namespace garden::model {

namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

void sort_and_cut(std::vector<Beam>& beams, int64_t width) {
  std::stable_sort(beams.begin(), beams.end(), [](const Beam& a, const Beam& b) { return a.log_prob > b.log_prob; });
  if (static_cast<int64_t>(beams.size()) > width) beams.resize(static_cast<size_t>(width));
}

}  // namespace

std::vector<std::vector<Beam>> beam_search(const torch::Tensor& first, const BeamStep& step, const BeamOptions& options) {
  const int64_t width = options.width;
  if (width < 1) usage_error(fmt::format("beam search: the width must be >= 1, got {}", width));
  if (options.max_new_tokens < 1) usage_error("beam search: max_new_tokens must be >= 1");
  if (first.dim() != 2) throw Error("beam search: the first log-probs must be [prompts, vocabulary]");
  const int64_t prompts = first.size(0), vocab = first.size(1);
  const int64_t rows = prompts * width;

  // Each prompt starts with one live beam (score 0) and width - 1 placeholders at -inf, so
  // that the first step's candidates all extend the prompt itself, once each.
  std::vector<double> score(static_cast<size_t>(rows), kNegInf);
  for (int64_t p = 0; p < prompts; ++p) score[static_cast<size_t>(p * width)] = 0;
  std::vector<std::vector<int64_t>> history(static_cast<size_t>(rows));
  std::vector<std::vector<Beam>> finished(static_cast<size_t>(prompts));
  std::vector<bool> done(static_cast<size_t>(prompts), false);
  // Before the first step, row p * width + j reads prompt p's log-probs.
  torch::Tensor log_probs = first.to(torch::kCPU, torch::kFloat64).repeat_interleave(width, 0);

  for (int64_t t = 0; t < options.max_new_tokens; ++t) {
    const auto total = log_probs.view({prompts, width, vocab}) + torch::tensor(score, torch::kFloat64).view({prompts, width, 1});
    // 2 x width candidates per prompt: enough to refill width beams when up to width of them end in EOS.
    const int64_t k = std::min(2 * width, width * vocab);
    const auto [values, flat] = total.view({prompts, width * vocab}).topk(k, -1);
    const auto value = values.accessor<double, 2>();
    const auto index = flat.accessor<int64_t, 2>();
    std::vector<int64_t> parents(static_cast<size_t>(rows)), tokens(static_cast<size_t>(rows));
    std::vector<double> next_score(static_cast<size_t>(rows), kNegInf);
    std::vector<std::vector<int64_t>> next_history(static_cast<size_t>(rows));
    for (int64_t p = 0; p < prompts; ++p) {
      int64_t filled = 0;
      for (int64_t c = 0; c < k && filled < width; ++c) {
        if (value[p][c] == kNegInf) break;
        const int64_t parent = p * width + index[p][c] / vocab, token = index[p][c] % vocab;
        if (token == options.eos_id) {
          if (!done[static_cast<size_t>(p)]) {
            Beam beam{history[static_cast<size_t>(parent)], value[p][c]};
            beam.tokens.push_back(token);
            finished[static_cast<size_t>(p)].push_back(std::move(beam));
          }
          continue;
        }
        const int64_t row = p * width + filled++;
        parents[static_cast<size_t>(row)] = parent;
        tokens[static_cast<size_t>(row)] = token;
        next_score[static_cast<size_t>(row)] = value[p][c];
        next_history[static_cast<size_t>(row)] = history[static_cast<size_t>(parent)];
        next_history[static_cast<size_t>(row)].push_back(token);
      }
      for (int64_t row = p * width + filled; row < (p + 1) * width; ++row) {  // fewer candidates than beams
        parents[static_cast<size_t>(row)] = p * width;
        tokens[static_cast<size_t>(row)] = 0;
      }
      // Without a length penalty a beam's score only falls, so a prompt is done once its
      // width finished beams all beat its best live one.
      auto& ended = finished[static_cast<size_t>(p)];
      sort_and_cut(ended, width);
      if (static_cast<int64_t>(ended.size()) == width && ended.back().log_prob >= next_score[static_cast<size_t>(p * width)])
        done[static_cast<size_t>(p)] = true;
    }
    score = std::move(next_score);
    history = std::move(next_history);
    if (std::all_of(done.begin(), done.end(), [](bool d) { return d; })) break;
    if (t + 1 < options.max_new_tokens) log_probs = step(parents, tokens).to(torch::kCPU, torch::kFloat64);
  }

  std::vector<std::vector<Beam>> out(static_cast<size_t>(prompts));
  for (int64_t p = 0; p < prompts; ++p) {
    auto& beams = out[static_cast<size_t>(p)];
    beams = std::move(finished[static_cast<size_t>(p)]);
    if (!done[static_cast<size_t>(p)])
      for (int64_t row = p * width; row < (p + 1) * width; ++row)
        if (score[static_cast<size_t>(row)] > kNegInf) beams.push_back({history[static_cast<size_t>(row)], score[static_cast<size_t>(row)]});
    sort_and_cut(beams, width);
  }
  return out;
}

std::vector<std::vector<Beam>> beam_search(Transformer& model, const std::vector<std::vector<int64_t>>& prompts,
                                           const BeamOptions& options, int64_t batch_prompts) {
  if (batch_prompts < 1) usage_error("beam search: batch_prompts must be >= 1");
  for (const auto& prompt : prompts)
    if (prompt.empty()) throw Error("beam search: a prompt is empty (add a BOS token)");
  c10::InferenceMode inference;
  const bool was_training = model->is_training();
  if (was_training) model->eval();
  const auto device = model->token_embedding->weight.device();
  // Equal lengths share a batch, so that no row needs padding.
  std::map<size_t, std::vector<size_t>> by_length;
  for (size_t i = 0; i < prompts.size(); ++i) by_length[prompts[i].size()].push_back(i);
  std::vector<std::vector<Beam>> out(prompts.size());
  for (const auto& [length, members] : by_length) {
    for (size_t start = 0; start < members.size(); start += static_cast<size_t>(batch_prompts)) {
      const size_t stop = std::min(members.size(), start + static_cast<size_t>(batch_prompts));
      std::vector<int64_t> flat;
      for (size_t i = start; i < stop; ++i) flat.insert(flat.end(), prompts[members[i]].begin(), prompts[members[i]].end());
      const auto batch = static_cast<int64_t>(stop - start);
      KVCache cache;
      ForwardOptions prefill;
      prefill.cache = &cache;
      const auto input = torch::tensor(flat, torch::kLong).view({batch, static_cast<int64_t>(length)}).to(device);
      const auto first = torch::log_softmax(model->forward(input, prefill).logits.select(1, -1).to(torch::kFloat32), -1);
      bool first_step = true;
      const BeamStep step = [&](const std::vector<int64_t>& parents, const std::vector<int64_t>& tokens) {
        // Before the first step the cache holds one row per prompt; parent p * width + j of
        // the first step's rows is prompt p.
        std::vector<int64_t> rows = parents;
        if (first_step)
          for (auto& r : rows) r /= options.width;
        first_step = false;
        cache.select_rows(torch::tensor(rows, torch::kLong));
        ForwardOptions decode;
        decode.cache = &cache;
        const auto next = torch::tensor(tokens, torch::kLong).view({-1, 1}).to(device);
        return torch::log_softmax(model->forward(next, decode).logits.select(1, -1).to(torch::kFloat32), -1);
      };
      auto beams = beam_search(first, step, options);
      for (size_t i = start; i < stop; ++i) out[members[i]] = std::move(beams[i - start]);
    }
  }
  if (was_training) model->train();
  return out;
}

}  // namespace garden::model
