#include "garden/text/bigram_backcopy.h"

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>

#include "garden/core/error.h"

namespace garden::text {

namespace {

double entropy(const std::vector<double>& p) {
  double h = 0;
  for (double x : p)
    if (x > 0) h -= x * std::log(x);
  return h;
}

std::vector<double> cumulative(const std::vector<double>& p) {
  std::vector<double> c(p.size());
  std::partial_sum(p.begin(), p.end(), c.begin());
  return c;
}

// Inverse-CDF sampling with a uniform double built from the generator's bits, so a seed gives
// the same sequence under every standard library (std::discrete_distribution does not promise it).
int32_t draw(const std::vector<double>& cumulative_probabilities, std::mt19937_64& rng) {
  const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53 * cumulative_probabilities.back();
  const auto it = std::upper_bound(cumulative_probabilities.begin(), cumulative_probabilities.end(), u);
  return static_cast<int32_t>(it - cumulative_probabilities.begin());
}

void check_distribution(const std::vector<double>& p, size_t size, const std::string& what) {
  if (p.size() != size) throw Error(fmt::format("bigram-backcopy: {} has {} entries, expected {}", what, p.size(), size));
  double sum = 0;
  for (double x : p) {
    if (!(x >= 0) || !std::isfinite(x)) throw Error(fmt::format("bigram-backcopy: {} has a negative or non-finite entry", what));
    sum += x;
  }
  if (std::abs(sum - 1.0) > 1e-9) throw Error(fmt::format("bigram-backcopy: {} sums to {}, not 1", what, sum));
}

}  // namespace

BigramBackcopy::BigramBackcopy(std::vector<std::vector<double>> transitions, std::vector<double> start,
                               std::vector<int32_t> triggers)
    : transitions_(std::move(transitions)), start_(std::move(start)), triggers_(std::move(triggers)) {
  const size_t v = transitions_.size();
  if (v < 2) throw Error("bigram-backcopy: the transition table needs at least two tokens");
  for (size_t a = 0; a < v; ++a) check_distribution(transitions_[a], v, fmt::format("transition row {}", a));
  check_distribution(start_, v, "the start distribution");
  trigger_flag_.assign(v, 0);
  for (int32_t t : triggers_) {
    if (t < 0 || static_cast<size_t>(t) >= v) throw Error(fmt::format("bigram-backcopy: trigger {} is not a token below {}", t, v));
    if (trigger_flag_[static_cast<size_t>(t)]) throw Error(fmt::format("bigram-backcopy: trigger {} is listed twice", t));
    trigger_flag_[static_cast<size_t>(t)] = 1;
    if (start_[static_cast<size_t>(t)] > 0) throw Error(fmt::format("bigram-backcopy: the start distribution gives trigger {} weight", t));
  }
  for (const auto& row : transitions_) cumulative_.push_back(cumulative(row));
  start_cumulative_ = cumulative(start_);
}

BigramBackcopy BigramBackcopy::from_text(const std::string& text, int64_t trigger_count) {
  std::array<int64_t, 256> unigram{};
  for (unsigned char c : text) ++unigram[c];
  std::vector<unsigned char> bytes;
  for (int c = 0; c < 256; ++c)
    if (unigram[static_cast<size_t>(c)] > 0) bytes.push_back(static_cast<unsigned char>(c));
  const size_t v = bytes.size();
  if (v < 2) throw Error("bigram-backcopy: the text needs at least two distinct bytes");
  if (trigger_count < 1 || static_cast<size_t>(trigger_count) >= v)
    throw Error(fmt::format("bigram-backcopy: {} triggers for a vocabulary of {} bytes (need 1..{})", trigger_count, v, v - 1));
  std::array<int32_t, 256> id{};
  for (size_t i = 0; i < v; ++i) id[bytes[i]] = static_cast<int32_t>(i);

  std::vector<std::vector<double>> counts(v, std::vector<double>(v, 0.0));
  for (size_t i = 0; i + 1 < text.size(); ++i)
    counts[static_cast<size_t>(id[static_cast<unsigned char>(text[i])])][static_cast<size_t>(id[static_cast<unsigned char>(text[i + 1])])] += 1;
  std::vector<double> marginal(v);
  for (size_t i = 0; i < v; ++i) marginal[i] = static_cast<double>(unigram[bytes[i]]) / static_cast<double>(text.size());
  for (auto& row : counts) {
    const double total = std::accumulate(row.begin(), row.end(), 0.0);
    if (total == 0) row = marginal;
    else
      for (double& x : row) x /= total;
  }
  // The most frequent bytes, ties broken by the smaller byte (a stable order of the ids).
  std::vector<int32_t> order(v);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return marginal[static_cast<size_t>(a)] > marginal[static_cast<size_t>(b)]; });
  std::vector<int32_t> triggers(order.begin(), order.begin() + trigger_count);
  std::sort(triggers.begin(), triggers.end());
  std::vector<double> start = marginal;
  for (int32_t t : triggers) start[static_cast<size_t>(t)] = 0;
  const double kept = std::accumulate(start.begin(), start.end(), 0.0);
  for (double& x : start) x /= kept;
  BigramBackcopy task(std::move(counts), std::move(start), std::move(triggers));
  task.symbols_.assign(bytes.begin(), bytes.end());
  return task;
}

bool BigramBackcopy::is_trigger(int32_t token) const {
  return token >= 0 && static_cast<size_t>(token) < trigger_flag_.size() && trigger_flag_[static_cast<size_t>(token)];
}

std::string BigramBackcopy::symbol(int32_t token) const {
  if (token == bos()) return "<s>";
  if (token < 0 || static_cast<size_t>(token) >= symbols_.size()) return "";
  return std::string(1, symbols_[static_cast<size_t>(token)]);
}

std::vector<int32_t> BigramBackcopy::sequence(int64_t length, std::mt19937_64& rng) const {
  if (length < 2) throw Error(fmt::format("bigram-backcopy: sequence length must be >= 2, got {}", length));
  std::vector<int32_t> seq{bos(), draw(start_cumulative_, rng)};
  seq.reserve(static_cast<size_t>(length));
  while (static_cast<int64_t>(seq.size()) < length) {
    const int32_t current = seq.back();
    seq.push_back(is_trigger(current) ? seq[seq.size() - 2] : draw(cumulative_[static_cast<size_t>(current)], rng));
  }
  return seq;
}

double BigramBackcopy::negative_log_likelihood(const std::vector<int32_t>& sequence) const {
  if (sequence.size() < 2 || sequence[0] != bos()) throw Error("bigram-backcopy: a sequence starts with BOS and has a token after it");
  const auto probability = [&](const std::vector<double>& p, int32_t token) {
    return token >= 0 && static_cast<size_t>(token) < p.size() ? p[static_cast<size_t>(token)] : 0.0;
  };
  double nll = 0;
  for (size_t t = 1; t < sequence.size(); ++t) {
    double p = 0;
    if (t == 1) p = probability(start_, sequence[1]);
    else if (is_trigger(sequence[t - 1])) p = sequence[t] == sequence[t - 2] ? 1.0 : 0.0;
    else p = probability(transitions_.at(static_cast<size_t>(sequence[t - 1])), sequence[t]);
    if (p <= 0) throw Error(fmt::format("bigram-backcopy: token {} at position {} cannot follow its prefix", sequence[t], t));
    nll -= std::log(p);
  }
  return nll;
}

double BigramBackcopy::loss_floor(int64_t length) const {
  if (length < 2) throw Error(fmt::format("bigram-backcopy: sequence length must be >= 2, got {}", length));
  const size_t v = transitions_.size();
  std::vector<double> row_entropy(v);
  for (size_t a = 0; a < v; ++a) row_entropy[a] = trigger_flag_[a] ? 0.0 : entropy(transitions_[a]);
  // pair[p * v + c]: probability that (previous, current) = (p, c) at the current position.
  // Position 1's previous token is BOS, which never matters (the first token is no trigger),
  // so it is folded into previous = 0.
  std::vector<double> pair(v * v, 0.0), next(v * v);
  for (size_t c = 0; c < v; ++c) pair[c] = start_[c];
  double total = entropy(start_);  // predicting position 1 from BOS
  for (int64_t position = 1; position + 1 < length; ++position) {
    std::fill(next.begin(), next.end(), 0.0);
    for (size_t p = 0; p < v; ++p)
      for (size_t c = 0; c < v; ++c) {
        const double w = pair[p * v + c];
        if (w == 0) continue;
        total += w * row_entropy[c];
        if (trigger_flag_[c]) next[c * v + p] += w;
        else
          for (size_t n = 0; n < v; ++n) next[c * v + n] += w * transitions_[c][n];
      }
    pair.swap(next);
  }
  return total / static_cast<double>(length - 1);
}

}  // namespace garden::text
