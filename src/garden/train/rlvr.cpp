#include "garden/train/rlvr.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/model/generation.h"
#include "garden/model/model_folder.h"
#include "garden/train/batches.h"
#include "garden/train/run_folder.h"

namespace garden::train {

namespace fs = std::filesystem;

void SamplingOptions::validate() const {
  if (!(temperature >= 0) || !std::isfinite(temperature)) usage_error(fmt::format("sampling: temperature {} must be >= 0", temperature));
  if (!(top_p > 0 && top_p <= 1)) usage_error(fmt::format("sampling: top-p {} must be in (0, 1]", top_p));
  if (max_new_tokens < 1) usage_error(fmt::format("sampling: max new tokens {} must be >= 1", max_new_tokens));
  if (batch_rows < 1) usage_error(fmt::format("sampling: batch rows {} must be >= 1", batch_rows));
}

std::vector<int64_t> prompt_tokens(const text::Tokenizer& tokenizer, const std::string& prompt) {
  std::vector<int64_t> tokens{tokenizer.bos_id()};
  const auto body = tokenizer.encode(prompt);
  tokens.insert(tokens.end(), body.begin(), body.end());
  return tokens;
}

std::vector<std::vector<std::string>> sample_completions(model::Transformer& model, const text::Tokenizer& tokenizer,
                                                         const std::vector<std::string>& prompts, int64_t n,
                                                         const SamplingOptions& options, uint64_t seed,
                                                         const std::function<void(int64_t)>& progress) {
  options.validate();
  if (n < 1) usage_error(fmt::format("sampling: {} completions per prompt; at least 1", n));
  std::vector<std::vector<std::string>> out(prompts.size());
  model::GenerateOptions generate;
  generate.max_new_tokens = options.max_new_tokens;
  generate.temperature = options.temperature;
  generate.top_p = options.top_p;
  generate.stop_tokens = {tokenizer.eos_id()};
  // Whole prompts per batch, at least one.
  const int64_t prompts_per_batch = std::max<int64_t>(1, options.batch_rows / n);
  std::vector<std::vector<int64_t>> encoded;
  encoded.reserve(prompts.size());
  for (const auto& p : prompts) encoded.push_back(prompt_tokens(tokenizer, p));
  for (size_t begin = 0; begin < prompts.size(); begin += static_cast<size_t>(prompts_per_batch)) {
    const size_t end = std::min(prompts.size(), begin + static_cast<size_t>(prompts_per_batch));
    std::vector<std::vector<int64_t>> rows;
    std::vector<uint64_t> seeds;
    for (size_t i = begin; i < end; ++i)
      for (int64_t j = 0; j < n; ++j) {
        rows.push_back(encoded[i]);
        seeds.push_back(seed + static_cast<uint64_t>(i) * static_cast<uint64_t>(n) + static_cast<uint64_t>(j));
      }
    const auto completions = model::generate_batch(model, rows, seeds, generate);
    size_t r = 0;
    for (size_t i = begin; i < end; ++i)
      for (int64_t j = 0; j < n; ++j, ++r) {
        auto tokens = completions[r].tokens;
        if (!tokens.empty() && tokens.back() == tokenizer.eos_id()) tokens.pop_back();
        out[i].push_back(tokenizer.decode(tokens));
      }
    if (progress) progress(static_cast<int64_t>(end));
  }
  return out;
}

std::vector<int64_t> count_correct(const VerifiableTask& task, const std::vector<std::vector<std::string>>& completions) {
  if (completions.size() != task.prompts.size())
    throw Error(fmt::format("verification: {} sets of completions for {} problems", completions.size(), task.prompts.size()));
  std::vector<int64_t> correct;
  correct.reserve(completions.size());
  for (size_t i = 0; i < completions.size(); ++i) {
    int64_t c = 0;
    for (const auto& completion : completions[i]) c += task.verify(i, completion) ? 1 : 0;
    correct.push_back(c);
  }
  return correct;
}

int64_t CompletionRows::counted() const { return static_cast<int64_t>(mask.sum().item<double>()); }

CompletionRows completion_rows(const text::Tokenizer& tokenizer, const std::vector<std::string>& prompts,
                               const std::vector<std::string>& completions) {
  if (prompts.size() != completions.size() || prompts.empty())
    throw Error(fmt::format("completion rows: {} prompts and {} completions", prompts.size(), completions.size()));
  std::vector<std::vector<int64_t>> rows;
  std::vector<int64_t> prompt_lengths;
  size_t longest = 0;
  for (size_t i = 0; i < prompts.size(); ++i) {
    auto row = prompt_tokens(tokenizer, prompts[i]);
    prompt_lengths.push_back(static_cast<int64_t>(row.size()));
    const auto body = tokenizer.encode(completions[i]);
    row.insert(row.end(), body.begin(), body.end());
    row.push_back(tokenizer.eos_id());
    longest = std::max(longest, row.size());
    rows.push_back(std::move(row));
  }
  const auto b = static_cast<int64_t>(rows.size()), t = static_cast<int64_t>(longest) - 1;
  CompletionRows out{torch::full({b, t}, tokenizer.pad_id(), torch::kLong), torch::full({b, t}, tokenizer.pad_id(), torch::kLong),
                     torch::zeros({b, t}, torch::kFloat), torch::zeros({b, t}, torch::kLong)};
  auto input = out.input.accessor<int64_t, 2>();
  auto target = out.target.accessor<int64_t, 2>();
  auto mask = out.mask.accessor<float, 2>();
  auto attention = out.attention.accessor<int64_t, 2>();
  for (int64_t r = 0; r < b; ++r) {
    const auto& row = rows[static_cast<size_t>(r)];
    for (int64_t i = 0; i + 1 < static_cast<int64_t>(row.size()); ++i) {
      input[r][i] = row[static_cast<size_t>(i)];
      target[r][i] = row[static_cast<size_t>(i + 1)];
      attention[r][i] = 1;
      // Target i + 1 is a completion token (or the end of text) from the prompt's end on.
      mask[r][i] = i + 1 >= prompt_lengths[static_cast<size_t>(r)] ? 1.0f : 0.0f;
    }
  }
  return out;
}

torch::Tensor completion_log_probs(model::Transformer& model, const CompletionRows& rows, torch::Tensor* logits_out) {
  const auto device = model->token_embedding->weight.device();
  model::ForwardOptions forward;
  forward.attention_mask = rows.attention.to(device);
  auto logits = model->forward(rows.input.to(device), forward).logits.to(torch::kFloat);
  const auto mask = rows.mask.to(device);
  auto log_probs = torch::log_softmax(logits, -1).gather(2, rows.target.to(device).unsqueeze(2)).squeeze(2) * mask;
  if (logits_out) *logits_out = logits;
  return log_probs;
}

std::vector<double> completion_perplexities(model::Transformer& model, const text::Tokenizer& tokenizer,
                                            const std::vector<std::string>& prompts, const std::vector<std::string>& completions,
                                            int64_t batch) {
  if (prompts.size() != completions.size()) throw Error("perplexities: prompts and completions differ in number");
  if (batch < 1) usage_error("perplexities: batch must be >= 1");
  torch::NoGradGuard no_grad;
  const bool was_training = model->is_training();
  model->eval();
  std::vector<double> out;
  for (size_t begin = 0; begin < prompts.size(); begin += static_cast<size_t>(batch)) {
    const size_t end = std::min(prompts.size(), begin + static_cast<size_t>(batch));
    const std::vector<std::string> p(prompts.begin() + static_cast<std::ptrdiff_t>(begin), prompts.begin() + static_cast<std::ptrdiff_t>(end));
    const std::vector<std::string> c(completions.begin() + static_cast<std::ptrdiff_t>(begin),
                                     completions.begin() + static_cast<std::ptrdiff_t>(end));
    const auto rows = completion_rows(tokenizer, p, c);
    const auto log_probs = completion_log_probs(model, rows).to(torch::kCPU);
    const auto per_row = (-log_probs.sum(1) / rows.mask.sum(1)).exp();
    for (int64_t r = 0; r < per_row.size(0); ++r) out.push_back(per_row[r].item<double>());
  }
  model->train(was_training);
  return out;
}

std::vector<TokenRow> completion_token_rows(const text::Tokenizer& tokenizer, const std::vector<std::string>& prompts,
                                            const std::vector<std::string>& completions) {
  if (prompts.size() != completions.size() || prompts.empty())
    throw Error(fmt::format("SFT: {} prompts and {} completions", prompts.size(), completions.size()));
  std::vector<TokenRow> rows;
  rows.reserve(prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) {
    TokenRow row;
    row.tokens = prompt_tokens(tokenizer, prompts[i]);
    row.counted.assign(row.tokens.size(), 0);
    for (const int64_t token : tokenizer.encode(completions[i])) {
      row.tokens.push_back(token);
      row.counted.push_back(1);
    }
    row.tokens.push_back(tokenizer.eos_id());
    row.counted.push_back(1);
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<TokenRow> line_token_rows(const text::Tokenizer& tokenizer, const std::vector<std::string>& lines, int64_t max_tokens) {
  std::vector<TokenRow> rows;
  rows.reserve(lines.size());
  for (const auto& line : lines) {
    TokenRow row;
    row.tokens.push_back(tokenizer.bos_id());
    row.counted.push_back(0);
    auto ids = tokenizer.encode(line);
    if (max_tokens > 0 && static_cast<int64_t>(ids.size()) > max_tokens) ids.resize(static_cast<size_t>(max_tokens));
    row.tokens.insert(row.tokens.end(), ids.begin(), ids.end());
    row.counted.insert(row.counted.end(), ids.size(), 1);
    row.tokens.push_back(tokenizer.eos_id());
    row.counted.push_back(1);
    rows.push_back(std::move(row));
  }
  return rows;
}

TrainResult sft_on_rows(model::Transformer& model, const std::string& tokenizer_spec, std::vector<TokenRow> rows, const TrainConfig& config,
                        const fs::path& out, bool resume, bool quiet, const EvalHook& hook) {
  if (rows.empty()) throw Error("SFT: no training rows");
  const auto tokenizer = text::load_tokenizer(tokenizer_spec);
  int64_t longest = 0;
  for (const auto& row : rows) longest = std::max<int64_t>(longest, static_cast<int64_t>(row.tokens.size()));
  if (longest > model->config().max_seq)
    throw Error(fmt::format("SFT: a row of {} tokens exceeds the model's context of {}", longest, model->config().max_seq));
  // A fixed share of the rows, at most 256, measures the held-out loss (they also train).
  std::vector<TokenRow> eval_rows(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(std::min<size_t>(256, rows.size())));
  TokenRowBatches data(std::move(rows), std::move(eval_rows), tokenizer->pad_id(), config.batch, config.seed);
  auto tc = config;
  tc.seq = longest;
  Trainer trainer(tc, out);
  trainer.quiet = quiet;
  trainer.tokenizer_spec = tokenizer_spec;
  return trainer.fit(model, data, resume, hook);
}

double fine_tune_folder(const fs::path& from, const std::vector<TokenRow>& rows, const FineTuneSettings& settings, const fs::path& out) {
  auto m = model::load_model(from);
  const int64_t steps = std::max<int64_t>(1, (static_cast<int64_t>(rows.size()) * settings.epochs + settings.batch - 1) / settings.batch);
  const auto result = sft_on_rows(m.model, m.tokenizer_spec, rows, inner_run_config(steps, settings.batch, settings.lr, settings.seed), out, false, true);
  double sum = 0;
  for (const double l : result.step_losses) sum += l;
  return result.step_losses.empty() ? std::nan("") : sum / static_cast<double>(result.step_losses.size());
}

TrainResult sft_on_completions(model::Transformer& model, const std::string& tokenizer_spec, const std::vector<std::string>& prompts,
                               const std::vector<std::string>& completions, const TrainConfig& config, const fs::path& out,
                               bool resume, bool quiet) {
  const auto tokenizer = text::load_tokenizer(tokenizer_spec);
  return sft_on_rows(model, tokenizer_spec, completion_token_rows(*tokenizer, prompts, completions), config, out, resume, quiet);
}

void RlOptions::validate() const {
  if (group < 2) usage_error(fmt::format("rl: group size {} must be >= 2", group));
  if (prompts < 1) usage_error(fmt::format("rl: prompts per step {} must be >= 1", prompts));
  if (!(temperature > 0)) usage_error(fmt::format("rl: rollout temperature {} must be > 0", temperature));
  if (!(top_p > 0 && top_p <= 1)) usage_error(fmt::format("rl: top-p {} must be in (0, 1]", top_p));
  if (max_new_tokens < 1) usage_error(fmt::format("rl: max new tokens {} must be >= 1", max_new_tokens));
  if (!(clip_low >= 0 && clip_low < 1) || !(clip_high >= 0))
    usage_error(fmt::format("rl: clip range [1 - {}, 1 + {}] must surround 1", clip_low, clip_high));
  if (!(kl >= 0)) usage_error(fmt::format("rl: KL coefficient {} must be >= 0", kl));
  if (eval_samples < 1 || eval_problems < 0) usage_error("rl: held-out evaluation needs >= 1 sample and >= 0 problems");
}

Json RlOptions::to_json() const {
  return {{"algo", to_string(advantage)}, {"group", group}, {"prompts", prompts}, {"temperature", temperature},
          {"top_p", top_p}, {"max_new_tokens", max_new_tokens}, {"clip_low", clip_low}, {"clip_high", clip_high},
          {"loss_aggregation", to_string(aggregation)}, {"kl", kl}, {"dynamic_sampling", dynamic_sampling},
          {"eval_samples", eval_samples}, {"eval_problems", eval_problems}, {"save_at", save_at}};
}

namespace {

// One step's rollouts: the prompts (repeated G times, in groups) and completions.
struct Rollouts {
  std::vector<std::string> prompts, completions;
  std::vector<double> rewards;
  int64_t groups_sampled = 0;
};

uint64_t step_seed(uint64_t seed, int64_t step, int64_t round) {
  // Distinct streams per (seed, step, round); splitmix-style mixing keeps neighbours apart.
  uint64_t x = seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(step) * 0xBF58476D1CE4E5B9ULL + static_cast<uint64_t>(round) * 0x94D049BB133111EBULL;
  x ^= x >> 31;
  return x * 0xD6E8FEB86659FD93ULL;
}

Rollouts roll_out(model::Transformer& model, const text::Tokenizer& tokenizer, const VerifiableTask& task, const RlOptions& options,
                  uint64_t seed, int64_t step) {
  Rollouts kept;
  const int64_t rounds = options.dynamic_sampling ? 4 : 1;
  SamplingOptions sampling{options.temperature, options.top_p, options.max_new_tokens, options.prompts * options.group};
  for (int64_t round = 0; round < rounds && static_cast<int64_t>(kept.prompts.size()) < options.prompts * options.group; ++round) {
    const uint64_t s = step_seed(seed, step, round);
    std::mt19937_64 rng(s);
    std::uniform_int_distribution<size_t> pick(0, task.prompts.size() - 1);
    std::vector<size_t> chosen;
    std::vector<std::string> prompts;
    for (int64_t i = 0; i < options.prompts; ++i) {
      chosen.push_back(pick(rng));
      prompts.push_back(task.prompts[chosen.back()]);
    }
    const auto completions = sample_completions(model, tokenizer, prompts, options.group, sampling, s);
    for (size_t i = 0; i < chosen.size(); ++i) {
      std::vector<double> rewards;
      for (const auto& completion : completions[i]) rewards.push_back(task.verify(chosen[i], completion) ? 1.0 : 0.0);
      ++kept.groups_sampled;
      const bool mixed = std::any_of(rewards.begin(), rewards.end(), [&](double r) { return r != rewards.front(); });
      // Dynamic sampling keeps groups that teach something; the last round fills what is left.
      if (options.dynamic_sampling && !mixed && round + 1 < rounds) continue;
      if (static_cast<int64_t>(kept.prompts.size()) >= options.prompts * options.group) break;
      for (int64_t j = 0; j < options.group; ++j) {
        kept.prompts.push_back(prompts[i]);
        kept.completions.push_back(completions[i][static_cast<size_t>(j)]);
        kept.rewards.push_back(rewards[static_cast<size_t>(j)]);
      }
    }
  }
  return kept;
}

}  // namespace

RlResult train_rl(model::Transformer& model, const std::string& tokenizer_spec, const VerifiableTask& task, const VerifiableTask& held_out,
                  const RlOptions& options, const TrainConfig& config, const fs::path& out, bool resume, bool quiet) {
  options.validate();
  if (task.prompts.empty()) throw Error("rl: the task has no prompts");
  for (const int64_t s : options.save_at)
    if (s < 1 || s > config.steps) usage_error(fmt::format("rl: a model to keep at step {} is outside 1..{}", s, config.steps));
  const auto tokenizer = text::load_tokenizer(tokenizer_spec);
  model::Transformer reference{nullptr};
  if (options.kl > 0) {
    // The start model, frozen: a copy made before any update.
    reference = model::Transformer(model->config());
    torch::NoGradGuard no_grad;
    auto source = model->named_parameters();
    for (auto& p : reference->named_parameters()) p.value().copy_(source[p.key()]);
    reference->eval();
  }

  RlResult result;
  double reward_sum = 0, entropy_sum = 0;
  int64_t reward_count = 0, entropy_steps = 0, groups_sampled = 0;
  Objective objective;
  objective.description = {{"objective", "rl"}, {"rl", options.to_json()}};
  objective.micro_step = [&](int64_t index) {
    const int64_t step = index + 1;
    Rollouts rollouts;
    {
      torch::NoGradGuard no_grad;
      rollouts = roll_out(model, *tokenizer, task, options, config.seed, step);
    }
    groups_sampled += rollouts.groups_sampled;
    for (const double r : rollouts.rewards) reward_sum += r;
    reward_count += static_cast<int64_t>(rollouts.rewards.size());
    const auto adv = advantages(rollouts.rewards, options.group, options.advantage);
    const auto rows = completion_rows(*tokenizer, rollouts.prompts, rollouts.completions);
    torch::Tensor logits;
    const auto log_probs = completion_log_probs(model, rows, &logits);
    const auto device = log_probs.device();
    const auto mask = rows.mask.to(device);
    // One update per batch of rollouts: the sampling policy is the current one, so the ratio
    // is 1 in value and its gradient is the policy gradient; the clip matters from a second
    // update on (not done here) and in the tests.
    auto loss = clipped_surrogate_loss(log_probs, log_probs.detach(), torch::tensor(adv, torch::kFloat).to(device), mask,
                                       options.clip_low, options.clip_high, options.aggregation);
    if (options.kl > 0) {
      torch::Tensor reference_log_probs;
      {
        torch::NoGradGuard no_grad;
        reference_log_probs = completion_log_probs(reference, rows);
      }
      loss = loss + options.kl * k3_kl(log_probs, reference_log_probs, mask, options.aggregation);
    }
    {
      torch::NoGradGuard no_grad;
      const auto log_p = torch::log_softmax(logits.detach(), -1);
      const auto entropy = -(log_p.exp() * log_p).sum(-1);
      entropy_sum += ((entropy * mask).sum() / mask.sum().clamp_min(1)).item<double>();
      ++entropy_steps;
    }
    const int64_t counted = rows.counted();
    result.trained_tokens += counted;
    return MicroStep{loss, counted};
  };
  objective.save = [&model, &tokenizer_spec](const fs::path& dir) { model::save_model(dir, model, tokenizer_spec); };
  objective.evaluate = [&](int64_t step, Json& metrics) {
    if (reward_count > 0) metrics["reward"] = reward_sum / static_cast<double>(reward_count);
    if (entropy_steps > 0) metrics["entropy"] = entropy_sum / static_cast<double>(entropy_steps);
    metrics["groups_sampled"] = groups_sampled;
    reward_sum = entropy_sum = 0;
    reward_count = entropy_steps = groups_sampled = 0;
    const auto problems = std::min<size_t>(held_out.prompts.size(), static_cast<size_t>(options.eval_problems));
    if (problems > 0) {
      torch::NoGradGuard no_grad;
      VerifiableTask subset{{held_out.prompts.begin(), held_out.prompts.begin() + static_cast<std::ptrdiff_t>(problems)}, held_out.verify};
      const auto completions = sample_completions(model, *tokenizer, subset.prompts, options.eval_samples, SamplingOptions{}, 1234567);
      const auto correct = count_correct(subset, completions);
      double solved = 0;
      for (const int64_t c : correct) solved += static_cast<double>(c);
      metrics["held_out_pass1"] = solved / static_cast<double>(problems * static_cast<size_t>(options.eval_samples));
    }
    if (std::find(options.save_at.begin(), options.save_at.end(), step) != options.save_at.end()) {
      const auto dir = out / fmt::format("model-step-{}", step);
      const auto staged = staging_path(dir);
      model::save_model(staged, model, tokenizer_spec);
      replace_dir_atomic(staged, dir);
    }
  };
  auto tc = config;
  // Every kept model must be evaluated at its step.
  for (const int64_t s : options.save_at)
    if (s != tc.steps && (tc.eval_every == 0 || s % tc.eval_every != 0))
        usage_error(fmt::format("rl: a model kept at step {} needs --eval-every dividing it (now {})", s, tc.eval_every));
  Trainer trainer(tc, out);
  trainer.quiet = quiet;
  trainer.tokenizer_spec = tokenizer_spec;
  result.train = trainer.fit(*model, objective, resume);
  for (const int64_t s : options.save_at) result.saved.push_back(out / fmt::format("model-step-{}", s));
  return result;
}

}  // namespace garden::train
