#include "garden/succinct/checks.h"

#include <fmt/core.h>

#include <bit>
#include <chrono>
#include <cmath>
#include <functional>
#include <map>
#include <random>

#include "garden/core/error.h"
#include "garden/succinct/dfa.h"
#include "garden/succinct/uhat.h"

namespace garden::succinct {

namespace {
double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}
}  // namespace

int ceil_log2(unsigned __int128 value) {
  if (value <= 1) return 0;
  const unsigned __int128 v = value - 1;
  const uint64_t high = static_cast<uint64_t>(v >> 64), low = static_cast<uint64_t>(v);
  return high ? 64 + std::bit_width(high) : std::bit_width(low);
}

MinDfaResult min_dfa(int n, CounterLanguage language, int64_t max_explicit_states) {
  const auto start = std::chrono::steady_clock::now();
  MinDfaResult result;
  const uint64_t k = counter_cells(n);
  if (language == CounterLanguage::single) {
    const unsigned __int128 path_states = single_word_length(n) + 2;
    if (path_states <= static_cast<unsigned __int128>(max_explicit_states)) {
      const Dfa dfa = single_word_dfa(kCounterAlphabet, counter_word(n, 0, counter_max_value(n)));
      result.states_before_minimisation = dfa.states();
      result.states = std::to_string(minimise(dfa).states());
      result.explicit_construction = true;
    } else {
      result.states = to_decimal(path_states);  // a single word's minimal DFA: |w| + 2
    }
  } else {
    // Trie of first blocks plus one chain per later block: about 2^(K+1) K (n+1) states.
    const bool fits = k <= 16 && (static_cast<double>(uint64_t{1} << k) * 2 * (k * (n + 1) + 1) <=
                                  static_cast<double>(max_explicit_states));
    if (fits) {
      const Dfa dfa = counter_segments_dfa(n);
      result.states_before_minimisation = dfa.states();
      result.states = std::to_string(minimise(dfa).states());
      result.explicit_construction = true;
    } else {
      result.states.assign(1, '-');  // not = "-": GCC 12 reports a false -Wrestrict there
    }
  }
  result.seconds = seconds_since(start);
  return result;
}

SizeRow size_row(int n, CounterLanguage program_language, int64_t max_explicit_states) {
  const auto start = std::chrono::steady_clock::now();
  SizeRow row;
  row.n = n;
  row.cells = counter_cells(n);
  row.word_length = to_decimal(single_word_length(n));
  row.dfa_single = min_dfa(n, CounterLanguage::single, max_explicit_states);
  row.dfa_segments = min_dfa(n, CounterLanguage::segments, max_explicit_states);
  const unsigned __int128 single_states = single_word_length(n) + 2;
  row.rnn_state_bits = std::log2(static_cast<long double>(single_states));
  row.rnn_state_bits_ceil = ceil_log2(single_states);
  row.ltl_lower_bound = std::to_string(uint64_t{1} << n);
  const Program program = build_counter_program(n, program_language);
  row.program_size = program.size();
  row.program_operations = static_cast<int64_t>(program.operations().size());
  row.program_attention = program.attention_count();
  const UhatSize s = Uhat::compile(program).size();
  row.uhat_layers = s.attention_layers + s.feed_forward_layers;
  row.uhat_heads = s.heads;
  row.uhat_width = s.width;
  row.uhat_nonzero = s.nonzero_weights;
  row.uhat_weight_bits = s.largest_weight_bits;
  row.seconds = seconds_since(start);
  return row;
}

int64_t AgreementReport::disagreements() const {
  int64_t total = 0;
  for (const AgreementSet& s : sets) total += s.program_disagreements + s.uhat_disagreements;
  return total;
}

int64_t AgreementReport::words() const {
  int64_t total = 0;
  for (const AgreementSet& s : sets) total += s.words;
  return total;
}

Json AgreementReport::to_json() const {
  Json out = {{"reference", reference}, {"seconds", seconds}, {"disagreements", disagreements()}, {"examples", examples}};
  for (const AgreementSet& s : sets)
    out["sets"].push_back({{"name", s.name},
                           {"words", s.words},
                           {"accepted", s.accepted},
                           {"program_disagreements", s.program_disagreements},
                           {"uhat_words", s.uhat_words},
                           {"uhat_disagreements", s.uhat_disagreements}});
  return out;
}

namespace {

constexpr char kSymbols[] = "01ab#";

// Streams words through the interpreter in bit-sliced batches of one length; compares each
// with the reference and, for the words marked so, the compiled transformer with the program.
class Checker {
 public:
  Checker(const Interpreter& interpreter, const Uhat& uhat, std::function<bool(std::string_view)> reference,
          AgreementReport& report)
      : interpreter_(interpreter), uhat_(uhat), reference_(std::move(reference)), report_(report) {}

  void begin(const std::string& name) {
    report_.sets.push_back({});
    report_.sets.back().name = name;
  }
  void add(std::string word, bool with_uhat) {
    auto& bucket = pending_[word.size()];
    bucket.emplace_back(std::move(word), with_uhat);
    if (bucket.size() == 64) flush(bucket);
  }
  void finish() {
    for (auto& [length, bucket] : pending_)
      if (!bucket.empty()) flush(bucket);
  }

 private:
  void flush(std::vector<std::pair<std::string, bool>>& bucket) {
    AgreementSet& set = report_.sets.back();
    std::vector<std::string_view> views;
    for (const auto& w : bucket) views.push_back(w.first);
    const uint64_t accepted = interpreter_.accepts_batch(views);
    for (size_t w = 0; w < bucket.size(); ++w) {
      const bool by_program = (accepted >> w) & 1;
      ++set.words;
      set.accepted += by_program;
      if (by_program != reference_(bucket[w].first)) {
        ++set.program_disagreements;
        note(bucket[w].first);
      }
      if (bucket[w].second) {
        ++set.uhat_words;
        if (uhat_.accepts(bucket[w].first) != by_program) {
          ++set.uhat_disagreements;
          note(bucket[w].first);
        }
      }
    }
    bucket.clear();
  }
  void note(const std::string& word) {
    if (report_.examples.size() >= 5) return;
    std::string shown = word.substr(0, 77);
    if (word.size() > 77) shown.append("...");
    report_.examples.push_back(std::move(shown));
  }

  const Interpreter& interpreter_;
  const Uhat& uhat_;
  std::function<bool(std::string_view)> reference_;
  AgreementReport& report_;
  std::map<size_t, std::vector<std::pair<std::string, bool>>> pending_;
};

// Every single-symbol substitution, deletion, insertion and adjacent swap of `word`: there
// are mutant_count(word) of them, numbered from 0 (a swap of two equal symbols gives the
// word back; callers skip those).
int64_t mutant_count(size_t length) {
  return static_cast<int64_t>(4 * length + length + 5 * (length + 1) + (length ? length - 1 : 0));
}
std::string mutant(const std::string& word, int64_t index) {
  const int64_t length = static_cast<int64_t>(word.size());
  std::string m = word;
  if (index < 4 * length) {  // substitution by one of the 4 other symbols
    const int64_t at = index / 4;
    const std::string others = [&] {
      std::string s;
      for (char c : std::string(kSymbols))
        if (c != word[at]) s += c;
      return s;
    }();
    m[at] = others[index % 4];
    return m;
  }
  index -= 4 * length;
  if (index < length) return m.erase(index, 1);
  index -= length;
  if (index < 5 * (length + 1)) return m.insert(index / 5, 1, kSymbols[index % 5]);
  index -= 5 * (length + 1);
  std::swap(m[index], m[index + 1]);
  return m;
}

}  // namespace

AgreementReport check_agreement(const AgreementOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const int n = options.n;
  check_counter_n(n);
  if (options.uhat_sample < 1) usage_error("--uhat-sample must be at least 1");
  if (options.max_length < 0 || options.max_length > 12)
    usage_error(fmt::format("--L must be between 0 and 12 (5^L words), not {}", options.max_length));
  const Program program = build_counter_program(n, options.language);
  const Interpreter interpreter(program);
  const Uhat uhat = Uhat::compile(program);
  std::mt19937_64 rng(options.seed);
  const uint64_t max_value = counter_max_value(n);

  AgreementReport report;
  // The reference: the minimal DFA when it can be built, else the direct parser.
  std::optional<Dfa> dfa;
  const MinDfaResult size = min_dfa(n, options.language, options.max_dfa_states);
  if (size.explicit_construction) {
    dfa = minimise(options.language == CounterLanguage::single
                       ? single_word_dfa(kCounterAlphabet, counter_word(n, 0, max_value))
                       : counter_segments_dfa(n));
    report.reference = fmt::format("minimal DFA ({} states)", dfa->states());
  } else {
    report.reference = "direct parser (the minimal DFA is too large to build)";
  }
  auto reference = [&](std::string_view w) {
    return dfa ? dfa->accepts(w) : counter_member(n, options.language, w);
  };
  Checker checker(interpreter, uhat, reference, report);
  auto log = [&](const AgreementSet& s) {
    if (!options.quiet)
      fmt::print(stderr, "  {:<28} {:>10} words  {:>8} accepted  program {} disagreements  transformer {}/{} \n", s.name,
                 s.words, s.accepted, s.program_disagreements, s.uhat_disagreements, s.uhat_words);
  };

  // (a) Every word up to the length bound.
  checker.begin(fmt::format("all words up to length {}", options.max_length));
  for (int length = 0; length <= options.max_length; ++length) {
    const int64_t count = static_cast<int64_t>(std::pow(5.0, length));
    for (int64_t index = 0; index < count; ++index) {
      std::string word(length, '0');
      for (int64_t i = length - 1, rest = index; i >= 0; --i, rest /= 5) word[i] = kSymbols[rest % 5];
      checker.add(std::move(word), length <= options.uhat_max_length);
    }
  }
  checker.finish();
  log(report.sets.back());

  // (b) Members: W_n, or every segment of S_n (a seeded sample of short ones beyond n = 3).
  std::vector<std::pair<uint64_t, uint64_t>> members;
  if (options.language == CounterLanguage::single) {
    if (n <= 3) members.emplace_back(0, max_value);
  } else if (n <= 3) {
    for (uint64_t x = 0; x <= max_value; ++x)
      for (uint64_t y = x; y <= max_value; ++y) members.emplace_back(x, y);
  } else {
    for (int i = 0; i < 2000; ++i) {
      const uint64_t x = rng() & max_value;
      const uint64_t span = std::min<uint64_t>(rng() % 4, max_value - x);
      members.emplace_back(x, x + span);
    }
  }
  auto every = [&](int64_t count) { return std::max<int64_t>(1, (count + options.uhat_sample - 1) / options.uhat_sample); };
  checker.begin("members");
  {
    const int64_t stride = every(static_cast<int64_t>(members.size()));
    for (size_t m = 0; m < members.size(); ++m)
      checker.add(counter_word(n, members[m].first, members[m].second), static_cast<int64_t>(m) % stride == 0);
  }
  checker.finish();
  log(report.sets.back());

  // (c) Mutants of the members: all of them, or a seeded sample of max_mutants.
  if (!members.empty()) {
    checker.begin("mutants of the members");
    int64_t total = 0;
    for (const auto& [x, y] : members) total += mutant_count((y - x + 1) * (counter_cells(n) * (n + 1) + 1) + 1);
    const int64_t stride = every(std::min(total, options.max_mutants));
    int64_t checked = 0;
    if (total <= options.max_mutants) {
      for (const auto& [x, y] : members) {
        const std::string word = counter_word(n, x, y);
        for (int64_t i = 0; i < mutant_count(word.size()); ++i) {
          std::string m = mutant(word, i);
          if (m != word) checker.add(std::move(m), checked++ % stride == 0);
        }
      }
    } else {
      // Sample members first, then mutations of each: generating a long member once per
      // group of its mutants keeps this linear.
      std::uniform_int_distribution<size_t> pick(0, members.size() - 1);
      while (checked < options.max_mutants) {
        const auto& [x, y] = members[pick(rng)];
        const std::string word = counter_word(n, x, y);
        std::uniform_int_distribution<int64_t> which(0, mutant_count(word.size()) - 1);
        for (int r = 0; r < 64 && checked < options.max_mutants; ++r) {
          std::string m = mutant(word, which(rng));
          if (m != word) checker.add(std::move(m), checked++ % stride == 0);
        }
      }
    }
    checker.finish();
    log(report.sets.back());
  }

  // (d) Random well-framed words whose block values mostly do not increment by one.
  checker.begin("random well-framed words");
  {
    const int64_t stride = every(options.random_words);
    std::uniform_int_distribution<int> blocks_dist(1, 6), kind_dist(0, 5);
    for (int64_t r = 0; r < options.random_words; ++r) {
      const int blocks = static_cast<int>(std::min<uint64_t>(blocks_dist(rng), max_value + 1));
      const bool all_correct = kind_dist(rng) == 0;
      uint64_t value = rng() & max_value;
      if (all_correct) value = std::min(value, max_value + 1 - static_cast<uint64_t>(blocks));
      if (options.language == CounterLanguage::single && kind_dist(rng) < 2) value = 0;
      std::string word = "#";
      for (int b = 0; b < blocks; ++b) {
        if (b > 0) {
          const int kind = all_correct ? 0 : kind_dist(rng);
          switch (kind) {
            case 0:
            case 1: value = (value + 1) & max_value; break;  // the increment (wraps at the top)
            case 2: value = (value + 2) & max_value; break;  // skipped value
            case 3: break;                                   // repeated value
            case 4: value ^= uint64_t{1} << (rng() % counter_cells(n)); break;
            default: value = rng() & max_value;
          }
        }
        word += counter_block(n, value);
        word += '#';
      }
      checker.add(std::move(word), r % stride == 0);
    }
  }
  checker.finish();
  log(report.sets.back());
  report.seconds = seconds_since(start);
  return report;
}

}  // namespace garden::succinct
