#include "garden/model/generation.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/ThreadLocalState.h>
#include <fmt/core.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "garden/core/error.h"
#include "garden/model/decode_kernels.h"
#include "garden/model/decode_step.h"
#include "garden/model/onednn_linear.h"
#include "garden/model/rows_decoder.h"
#include "garden/model/thread_tasks.h"

namespace garden::model {

torch::Tensor filter_logits(const torch::Tensor& logits, double temperature, int64_t top_k, double top_p) {
  // Dividing by 1 changes nothing and cost a pass over [N,V] on every sampled step.
  auto out = temperature == 1.0 ? logits.to(torch::kFloat32) : logits.to(torch::kFloat32) / temperature;  // [N,V]
  const double neg_inf = -std::numeric_limits<double>::infinity();
  const int64_t vocab = out.size(-1);
  if (top_k > 0 && top_k < vocab) {
    auto kth = std::get<0>(out.topk(top_k, -1)).narrow(-1, top_k - 1, 1);  // [N,1]
    out = out.masked_fill(out < kth, neg_inf);
  }
  if (top_p < 1.0) {
    auto [sorted, order] = out.sort(-1, /*descending=*/true);
    auto probs = torch::softmax(sorted, -1);
    // Keep a token while the mass before it is < top_p, so the kept set is the smallest
    // prefix whose mass reaches top_p (the top token is always kept).
    auto mass_before = probs.cumsum(-1) - probs;
    auto drop_sorted = mass_before >= top_p;
    auto drop = torch::zeros_like(drop_sorted).scatter(-1, order, drop_sorted);
    out = out.masked_fill(drop, neg_inf);
  }
  return out;
}

torch::Tensor sample_rows(const torch::Tensor& probs, const std::vector<double>& uniforms) {
  const int64_t n = probs.size(0), vocab = probs.size(1);
  if (static_cast<int64_t>(uniforms.size()) != n) throw Error("sample_rows: one uniform per row is needed");
  // Two passes over each row in double, cumsum followed by searchsorted(right = true)
  // without building the [N,V] cumulative table (decode_kernels.h): libtorch's cumsum took
  // most of a 64 x 64 sampled decode once attention was fast. float32 rows are read as they
  // are (widening each element is exact, so no double copy is needed).
  const auto rows = probs.scalar_type() == torch::kFloat32 ? probs.to(torch::kCPU).contiguous()
                                                          : probs.to(torch::kCPU, torch::kFloat64).contiguous();
  auto picked = torch::empty({n}, torch::kLong);
  int64_t* out = picked.data_ptr<int64_t>();
  if (rows.scalar_type() == torch::kFloat32) inverse_cdf_rows(rows.data_ptr<float>(), n, vocab, uniforms.data(), out);
  else inverse_cdf_rows(rows.data_ptr<double>(), n, vocab, uniforms.data(), out);
  for (int64_t i = 0; i < n; ++i)
    if (out[i] < 0) throw Error(fmt::format("sample_rows: row {} has no positive finite mass (NaN or all-zero probabilities)", i));
  return picked;
}

torch::Tensor sample_softmax_rows(const torch::Tensor& logits, const std::vector<double>& uniforms) {
  const int64_t n = logits.size(0), vocab = logits.size(1);
  if (static_cast<int64_t>(uniforms.size()) != n) throw Error("sample_softmax_rows: one uniform per row is needed");
  const auto rows = logits.to(torch::kCPU, torch::kFloat32).contiguous();
  auto picked = torch::empty({n}, torch::kLong);
  int64_t* out = picked.data_ptr<int64_t>();
  softmax_sample_rows(rows.data_ptr<float>(), n, vocab, uniforms.data(), out);
  for (int64_t i = 0; i < n; ++i)
    if (out[i] < 0) throw Error(fmt::format("sample_softmax_rows: row {} has no finite logit to draw from (NaN or all -inf)", i));
  return picked;
}

namespace {

void check_options(const GenerateOptions& options) {
  if (options.n_samples < 1) usage_error("generate: n_samples must be >= 1");
  if (options.mask == MaskMode::bidirectional)
    usage_error("generate: bidirectional attention cannot decode left to right; use causal or prefix");
  if (!(options.temperature >= 0) || !std::isfinite(options.temperature))
    usage_error(fmt::format("generate: --temperature must be a finite number >= 0, got {}", options.temperature));
  // top_p 0 would drop every token, leaving nothing to sample from.
  if (!(options.top_p > 0 && options.top_p <= 1)) usage_error(fmt::format("generate: --top-p must be in (0, 1], got {}", options.top_p));
  if (options.top_k < 0) usage_error(fmt::format("generate: --top-k must be >= 0 (0 = off), got {}", options.top_k));
  if (options.top_logprobs < 0) usage_error(fmt::format("generate: --logprobs must be >= 0, got {}", options.top_logprobs));
}

// Decodes every row of a prefilled cache: `logits` [N,V] are the next-token logits after each
// row's prompt, row i samples with generators[i].
std::vector<Completion> decode_rows(Transformer& model, KVCache& cache, torch::Tensor logits, std::vector<at::Generator>& generators,
                                    const GenerateOptions& options) {
  auto device = model->token_embedding->weight.device();
  const auto n = static_cast<int64_t>(generators.size());

  std::vector<Completion> completions(static_cast<size_t>(n));
  std::vector<std::vector<int64_t>> generated(static_cast<size_t>(n));
  std::vector<bool> finished(static_cast<size_t>(n), false);
  ForwardOptions step;
  step.cache = &cache;  // decode steps are causal: each new token sees everything before it
  const bool lean = supports_decode_step(model->config()) && !cache.has_padding;
  // Every step repeats the same product shapes on the same weights: their kernels are built
  // for those shapes and the weights packed for them once, for the whole decode.
  const DecodeProducts decode_products;
  // Two rows or more: a step on the decoder's own buffers where it runs the model.
  const auto rows_decoder = lean && n > 1 ? RowsDecoder::start(model, cache) : nullptr;

  const int64_t total = static_cast<int64_t>(options.forced_prefix.size()) + options.max_new_tokens;
  for (int64_t pos = 0; pos < total; ++pos) {
    std::vector<int64_t> next(static_cast<size_t>(n));
    if (pos < static_cast<int64_t>(options.forced_prefix.size())) {
      std::fill(next.begin(), next.end(), options.forced_prefix[static_cast<size_t>(pos)]);
    } else {
      auto step_logits = logits.to(torch::kCPU).to(torch::kFloat32);  // [N,V]
      if (options.logits_processor) options.logits_processor(step_logits, generated);
      if (options.top_logprobs > 0) {
        const int64_t k = std::min(options.top_logprobs, step_logits.size(-1));
        auto [values, ids] = torch::log_softmax(step_logits.to(torch::kFloat64), -1).topk(k, -1);  // [N,k]
        for (int64_t i = 0; i < n; ++i) {
          if (finished[static_cast<size_t>(i)]) continue;
          auto& step_top = completions[static_cast<size_t>(i)].top_logprobs.emplace_back();
          for (int64_t j = 0; j < k; ++j) step_top.push_back({ids[i][j].item<int64_t>(), values[i][j].item<double>()});
        }
      }
      if (options.temperature == 0.0) {
        auto best = step_logits.argmax(-1);
        for (int64_t i = 0; i < n; ++i) next[static_cast<size_t>(i)] = best[i].item<int64_t>();
      } else {
        const auto filtered = filter_logits(step_logits, options.temperature, options.top_k, options.top_p);
        // One uniform per unfinished sample from its own generator (so a sample's tokens
        // depend on its seed alone, not on the batch), then one batched lookup: a
        // torch::multinomial call per row cost ~100 us and half of a 64-sample decode.
        std::vector<double> uniforms(static_cast<size_t>(n), 0.0);
        for (int64_t i = 0; i < n; ++i) {
          if (finished[static_cast<size_t>(i)]) continue;
          auto* generator = generators[static_cast<size_t>(i)].get<at::CPUGeneratorImpl>();
          uniforms[static_cast<size_t>(i)] = static_cast<double>(generator->random64() >> 11) * 0x1.0p-53;
        }
        const auto picked = sample_softmax_rows(filtered, uniforms);
        const auto picked_ids = picked.accessor<int64_t, 1>();
        for (int64_t i = 0; i < n; ++i)
          if (!finished[static_cast<size_t>(i)]) next[static_cast<size_t>(i)] = picked_ids[i];
      }
    }
    bool all_done = true;
    for (int64_t i = 0; i < n; ++i) {
      const auto idx = static_cast<size_t>(i);
      if (finished[idx]) {
        next[idx] = generated[idx].back();  // keep feeding something; the output is ignored
        continue;
      }
      generated[idx].push_back(next[idx]);
      const bool past_prefix = pos >= static_cast<int64_t>(options.forced_prefix.size());
      const bool ended_by_caller = options.on_token && options.on_token(i, next[idx]);
      const bool stop = past_prefix && (ended_by_caller || std::find(options.stop_tokens.begin(), options.stop_tokens.end(),
                                                                     next[idx]) != options.stop_tokens.end());
      if (stop) {
        finished[idx] = true;
        completions[idx].finish_reason = "stop";
      }
      all_done = all_done && finished[idx];
    }
    if (all_done || pos + 1 == total) break;
    const int64_t length = rows_decoder ? rows_decoder->length() : cache.length();
    if (model->config().pos == Positions::learned && length + 1 > model->config().max_seq) break;
    if (lean && n == 1) {
      logits = decode_step(model, next[0], cache).unsqueeze(0);  // [1,V]
    } else if (rows_decoder) {
      logits = rows_decoder->step(next);  // [N,V]
    } else if (lean) {
      logits = decode_step_rows(model, torch::tensor(next, torch::kLong), cache);  // [N,V]
    } else {
      auto input = torch::tensor(next, torch::kLong).view({n, 1}).to(device);
      logits = model->forward(input, step).logits.select(1, 0);  // [N,V]
    }
  }
  if (rows_decoder) rows_decoder->finish();
  for (int64_t i = 0; i < n; ++i) {
    const auto idx = static_cast<size_t>(i);
    completions[idx].tokens = generated[idx];
    if (completions[idx].finish_reason.empty()) completions[idx].finish_reason = "length";
  }
  return completions;
}

}  // namespace

namespace {

// Rows per thread from which a decode splits its rows between the threads. Where the rows
// decoder runs the model, two: its products are oneDNN's at any row count, and 4, 8 and 16
// rows ran 1.27x, 1.39x and 1.33x faster as two groups than as one batch on both threads,
// with the same tokens (2 rows as two single streams gained nothing). Elsewhere 16: groups of
// fewer rows would take libtorch's products instead of oneDNN's, and two groups of 8 ran
// slower than one batch of 16 (docs/performance.md, "Rows split between the threads").
int64_t min_rows_per_thread(Transformer& model) { return RowsDecoder::runs(model) ? 2 : kOnednnMinimumRows; }

// decode_rows, with the rows split between threads as decode_threads says. Rows never
// interact in a decode (each has its cache and its generator), so each group of rows decodes
// as a batch of its own, and the threads no longer meet at the end of each of a step's
// hundred-odd operations (in a 64-row decode on two threads, a quarter of their time was
// spent waiting in OpenMP). Left-padded batches keep one batch (the lean step does not take padding).
std::vector<Completion> decode_rows_on_threads(Transformer& model, KVCache& cache, const torch::Tensor& logits,
                                               std::vector<at::Generator>& generators, const GenerateOptions& options) {
  const auto n = static_cast<int64_t>(generators.size());
  const int64_t groups = cache.has_padding ? 1 : decode_threads(model, n, options);
  if (groups == 1) return decode_rows(model, cache, logits, generators, options);
  std::vector<KVCache> caches(static_cast<size_t>(groups));
  std::vector<torch::Tensor> group_logits(static_cast<size_t>(groups));
  std::vector<std::vector<at::Generator>> group_generators(static_cast<size_t>(groups));
  for (int64_t g = 0; g < groups; ++g) {
    const int64_t start = n * g / groups, end = n * (g + 1) / groups;
    const auto slot = static_cast<size_t>(g);
    caches[slot] = cache;  // a copy shares the tensors and gets no room; select_rows makes its own
    caches[slot].select_rows(torch::arange(start, end, torch::kLong));
    group_logits[slot] = logits.narrow(0, start, end - start);
    group_generators[slot].assign(generators.begin() + start, generators.begin() + end);
  }
  cache = KVCache{};  // its rows now live in the groups'
  // Inference mode and the other thread-local settings of the caller hold on every thread.
  const at::ThreadLocalState caller_state;
  std::vector<std::vector<Completion>> results(static_cast<size_t>(groups));
  run_tasks_on_threads(groups, [&](int64_t g) {
    const at::ThreadLocalStateGuard state(caller_state);
    const auto slot = static_cast<size_t>(g);
    results[slot] = decode_rows(model, caches[slot], group_logits[slot], group_generators[slot], options);
  });
  std::vector<Completion> completions;
  for (auto& part : results) std::move(part.begin(), part.end(), std::back_inserter(completions));
  return completions;
}

}  // namespace

namespace {

// Prefills one prompt (token ids, or vectors in place of their embeddings), copies its cache
// to every sample and decodes them.
std::vector<Completion> prefill_and_decode(Transformer& model, const torch::Tensor& tokens, const torch::Tensor& embeddings,
                                           int64_t prompt_length, const GenerateOptions& options, KVCache cache = {}) {
  check_options(options);
  // Inference mode, not just no-grad: decoding's tensors need no version counters or views'
  // autograd bookkeeping, which at these sizes is a measurable share of a step.
  c10::InferenceMode inference;
  // Only a model in training mode is switched (and back): a server's threads share one model
  // kept in eval mode, and must not write its flags concurrently.
  const bool was_training = model->is_training();
  if (was_training) model->eval();
  const int64_t n = options.n_samples;
  ForwardOptions prefill;
  prefill.mask = options.mask;
  prefill.cache = &cache;
  prefill.input_embeddings = embeddings;
  if (options.mask == MaskMode::prefix) prefill.prefix_lengths = torch::tensor({prompt_length}, torch::kLong);
  auto logits = model->forward(tokens, prefill).logits.select(1, -1);  // [1,V]
  cache.repeat_batch(n);
  logits = logits.expand({n, logits.size(-1)}).contiguous();

  std::vector<at::Generator> generators;
  for (int64_t i = 0; i < n; ++i) generators.push_back(at::make_generator<at::CPUGeneratorImpl>(options.seed + static_cast<uint64_t>(i)));
  auto completions = decode_rows_on_threads(model, cache, logits, generators, options);
  if (was_training) model->train();
  return completions;
}

}  // namespace

int64_t decode_threads(Transformer& model, int64_t rows, const GenerateOptions& options) {
  if (omp_in_parallel() || !model->token_embedding->weight.device().is_cpu() || !supports_decode_step(model->config()) ||
      options.logits_processor || options.on_token)
    return 1;
  return std::max<int64_t>(1, std::min<int64_t>(omp_get_max_threads(), rows / min_rows_per_thread(model)));
}

std::vector<Completion> generate(Transformer& model, const std::vector<int64_t>& prompt, const GenerateOptions& options) {
  if (prompt.empty()) throw Error("generate: the prompt is empty (add a BOS token)");
  auto device = model->token_embedding->weight.device();
  return prefill_and_decode(model, torch::tensor(prompt, torch::kLong).view({1, -1}).to(device), {}, static_cast<int64_t>(prompt.size()), options);
}

namespace {

void check_states(Transformer& model, const KVCache& states, const std::vector<int64_t>& continuation, const GenerateOptions& options) {
  if (continuation.empty()) throw Error("generate: the tokens after the cached states are empty (the next token is predicted from them)");
  if (options.mask != MaskMode::causal) usage_error("generate: after cached states the prompt's rest reads causally");
  if (static_cast<int64_t>(states.keys.size()) != model->config().n_layers || states.length() == 0 || states.key_real.size(0) != 1)
    throw Error(fmt::format("generate: cached states of {} layers and {} rows do not fit a {}-layer model and one prompt", states.keys.size(),
                            states.key_real.defined() ? states.key_real.size(0) : 0, model->config().n_layers));
}

}  // namespace

std::vector<Completion> generate_from_states(Transformer& model, KVCache states, const std::vector<int64_t>& continuation,
                                             const GenerateOptions& options) {
  check_states(model, states, continuation, options);
  auto device = model->token_embedding->weight.device();
  return prefill_and_decode(model, torch::tensor(continuation, torch::kLong).view({1, -1}).to(device), {},
                            static_cast<int64_t>(continuation.size()), options, std::move(states));
}

torch::Tensor next_token_logits(Transformer& model, KVCache states, const std::vector<int64_t>& continuation) {
  if (states.length() > 0) check_states(model, states, continuation, GenerateOptions{});
  if (continuation.empty()) throw Error("next-token logits: no tokens to read");
  c10::InferenceMode inference;
  const bool was_training = model->is_training();
  if (was_training) model->eval();
  ForwardOptions forward;
  if (states.length() > 0) forward.cache = &states;
  const auto device = model->token_embedding->weight.device();
  auto logits = model->forward(torch::tensor(continuation, torch::kLong).view({1, -1}).to(device), forward).logits[0][-1];
  if (was_training) model->train();
  return logits.to(torch::kCPU, torch::kFloat32).clone();
}

std::vector<Completion> generate_from_embeddings(Transformer& model, const torch::Tensor& prompt, const GenerateOptions& options) {
  if (prompt.dim() != 2 || prompt.size(0) == 0 || prompt.size(1) != model->config().d_model)
    throw Error(fmt::format("generate: a soft prompt must be [length >= 1, {}], got {}", model->config().d_model, c10::str(prompt.sizes())));
  const auto device = model->token_embedding->weight.device();
  return prefill_and_decode(model, {}, prompt.detach().unsqueeze(0).to(device), prompt.size(0), options);
}

std::vector<Completion> generate_batch(Transformer& model, const std::vector<std::vector<int64_t>>& prompts,
                                       const std::vector<uint64_t>& seeds, const GenerateOptions& options) {
  if (prompts.size() != seeds.size()) throw Error("generate_batch: one seed per prompt is needed");
  if (prompts.empty()) return {};
  check_options(options);
  if (options.n_samples != 1) usage_error("generate_batch: one completion per prompt (n_samples 1)");
  if (options.mask != MaskMode::causal) usage_error("generate_batch: prompts of a batch decode under the causal mask");
  size_t longest = 0;
  bool same_length = true;
  for (const auto& p : prompts) {
    if (p.empty()) throw Error("generate_batch: a prompt is empty (add a BOS token)");
    same_length = same_length && p.size() == prompts.front().size();
    longest = std::max(longest, p.size());
  }
  // Left padding shifts each prompt's absolute positions; only RoPE, whose attention sees
  // relative positions alone, decodes them exactly as it would decode each prompt alone.
  if (!same_length && model->config().pos != Positions::rope) {
    std::vector<Completion> completions;
    for (size_t i = 0; i < prompts.size(); ++i) {
      auto one = options;
      one.seed = seeds[i];
      completions.push_back(generate(model, prompts[i], one).front());
    }
    return completions;
  }
  c10::InferenceMode inference;
  const bool was_training = model->is_training();
  if (was_training) model->eval();
  auto device = model->token_embedding->weight.device();
  const auto n = static_cast<int64_t>(prompts.size()), width = static_cast<int64_t>(longest);
  auto tokens = torch::zeros({n, width}, torch::kLong);
  auto real = torch::zeros({n, width}, torch::kLong);
  for (int64_t i = 0; i < n; ++i) {
    const auto& p = prompts[static_cast<size_t>(i)];
    const int64_t pad = width - static_cast<int64_t>(p.size());
    tokens[i].narrow(0, pad, static_cast<int64_t>(p.size())).copy_(torch::tensor(p, torch::kLong));
    real[i].narrow(0, pad, static_cast<int64_t>(p.size())).fill_(1);
  }
  KVCache cache;
  ForwardOptions prefill;
  prefill.cache = &cache;
  if (!same_length) prefill.attention_mask = real.to(device);
  auto logits = model->forward(tokens.to(device), prefill).logits.select(1, -1).contiguous();  // [N,V]
  std::vector<at::Generator> generators;
  for (auto seed : seeds) generators.push_back(at::make_generator<at::CPUGeneratorImpl>(seed));
  auto completions = decode_rows_on_threads(model, cache, logits, generators, options);
  if (was_training) model->train();
  return completions;
}

torch::Tensor score_continuation(Transformer& model, const std::vector<int64_t>& context,
                                 const std::vector<int64_t>& continuation) {
  if (context.empty()) throw Error("score: the context is empty (add a BOS token)");
  torch::NoGradGuard no_grad;
  const bool was_training = model->is_training();
  model->eval();
  std::vector<int64_t> all(context);
  all.insert(all.end(), continuation.begin(), continuation.end());
  auto device = model->token_embedding->weight.device();
  auto tokens = torch::tensor(all, torch::kLong).view({1, -1}).to(device);
  auto logits = model->forward(tokens).logits[0].to(torch::kFloat64);  // [T,V]
  const int64_t c = static_cast<int64_t>(context.size()), m = static_cast<int64_t>(continuation.size());
  auto logp = torch::log_softmax(logits.narrow(0, c - 1, m), -1);  // position t predicts token t+1
  auto targets = torch::tensor(continuation, torch::kLong).to(device).view({m, 1});
  model->train(was_training);
  return logp.gather(1, targets).view({m}).to(torch::kCPU);
}

}  // namespace garden::model
