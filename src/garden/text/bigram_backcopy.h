// The Bigram-Backcopy task (Guo, Pai, Bai, Jiao, Jordan, Mei, "Active-Dormant Attention
// Heads", arXiv:2410.13835, §2): a toy language on which 1-3 layer transformers form
// attention sinks. A sequence starts with BOS; its first token is drawn from the unigram
// marginal without the triggers; every next token follows a fixed bigram transition table,
// except after a trigger, where it copies the token before the trigger:
//   BOS a b T b c T c ...   (T a trigger: the token after T repeats the one before T)
// As in the paper's code, the table is the character bigram of a text (tiny-shakespeare
// there) and the triggers are its k most frequent characters. A head that does the copying
// is needed only after triggers; elsewhere it has nothing to do and parks its attention on
// BOS, the sink.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace garden::text {

class BigramBackcopy {
 public:
  // transitions: V rows of V probabilities (row a: next-token distribution after a), each
  // summing to one; start: the distribution of the first token after BOS, zero on triggers;
  // triggers: distinct ids below V. Token V is BOS. Throws on a malformed table.
  BigramBackcopy(std::vector<std::vector<double>> transitions, std::vector<double> start, std::vector<int32_t> triggers);

  // The paper's construction from a text: the vocabulary is the distinct bytes of `text`
  // (sorted), the table its byte bigrams (a byte never followed by another gets the unigram
  // marginal), the triggers its `trigger_count` most frequent bytes, and the start
  // distribution the marginal without them.
  static BigramBackcopy from_text(const std::string& text, int64_t trigger_count);

  int32_t vocab_size() const { return static_cast<int32_t>(transitions_.size()) + 1; }  // with BOS
  int32_t bos() const { return static_cast<int32_t>(transitions_.size()); }
  const std::vector<int32_t>& triggers() const { return triggers_; }
  bool is_trigger(int32_t token) const;
  const std::vector<double>& transition_row(int32_t token) const { return transitions_.at(static_cast<size_t>(token)); }
  const std::vector<double>& start() const { return start_; }
  // The byte a token stands for, when built from a text ("" otherwise); "<s>" for BOS.
  std::string symbol(int32_t token) const;

  // BOS followed by length - 1 tokens of the task.
  std::vector<int32_t> sequence(int64_t length, std::mt19937_64& rng) const;

  // The best achievable cross-entropy (nats/token) of predicting tokens 1..length-1 of a
  // sequence from their prefixes, averaged over those positions: the start distribution's
  // entropy at position 1, zero after a trigger (a copy), the transition row's entropy
  // elsewhere. Exact: the distribution of (previous, current) token is propagated position
  // by position, since a copy depends on both.
  double loss_floor(int64_t length) const;

  // -log P(tokens 1..n-1 | their prefixes) of a sequence under the task, summed: the floor of
  // a given set of held-out sequences rather than its expectation. Throws when the sequence
  // is not one the task can produce (a broken copy, a zero-probability transition).
  double negative_log_likelihood(const std::vector<int32_t>& sequence) const;

 private:
  std::vector<std::vector<double>> transitions_;
  std::vector<double> start_;
  std::vector<int32_t> triggers_;
  std::vector<char> trigger_flag_;
  std::vector<std::vector<double>> cumulative_;  // per row, for inverse-CDF sampling
  std::vector<double> start_cumulative_;
  std::string symbols_;                           // byte of each token, when built from a text
};

}  // namespace garden::text
