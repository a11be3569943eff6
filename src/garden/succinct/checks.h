// The experiments of the succinctness reproduction: minimal automata sizes, the sizes table
// (program, compiled transformer, automata and the RNN/LTL lower-bound columns), and the
// agreement of program, compiled transformer and automaton on finite word sets.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "garden/core/json.h"
#include "garden/succinct/counter.h"

namespace garden::succinct {

struct MinDfaResult {
  std::string states;  // decimal; "-" when neither built nor known in closed form
  bool explicit_construction = false;  // minimised here (else the closed form |W_n| + 2)
  int64_t states_before_minimisation = 0;
  double seconds = 0;
};

// Minimal complete DFA of C_n or S_n: built and minimised when it has at most
// `max_explicit_states` states before minimisation; otherwise C_n's closed form.
MinDfaResult min_dfa(int n, CounterLanguage language, int64_t max_explicit_states);

struct SizeRow {
  int n = 0;
  uint64_t cells = 0;
  std::string word_length;          // |W_n|
  MinDfaResult dfa_single, dfa_segments;
  double rnn_state_bits = 0;        // log2 of C_n's minimal DFA size
  int rnn_state_bits_ceil = 0;      // whole bits: ceil(log2)
  std::string ltl_lower_bound;      // Omega(2^n): the value 2^n
  int64_t program_size = 0, program_operations = 0, program_attention = 0;
  int uhat_layers = 0, uhat_heads = 0, uhat_width = 0, uhat_weight_bits = 0;
  int64_t uhat_nonzero = 0;
  double seconds = 0;
};

SizeRow size_row(int n, CounterLanguage program_language, int64_t max_explicit_states);
// ceil(log2(value)) for value >= 1, exactly.
int ceil_log2(unsigned __int128 value);

struct AgreementOptions {
  int n = 1;
  CounterLanguage language = CounterLanguage::single;
  int max_length = 10;        // every word up to this length: program vs reference
  int uhat_max_length = 7;    // every word up to this length: compiled transformer vs program
  int64_t random_words = 100000;
  int64_t max_mutants = 200000;  // per member set; a seeded sample beyond
  int64_t uhat_sample = 300;     // words per set the transformer also runs on (all if fewer)
  int64_t max_dfa_states = 2000000;
  uint64_t seed = 0;
  bool quiet = false;
};

struct AgreementSet {
  std::string name;
  int64_t words = 0, accepted = 0;
  int64_t program_disagreements = 0;  // program vs reference
  int64_t uhat_words = 0, uhat_disagreements = 0;  // compiled transformer vs program
};

struct AgreementReport {
  std::string reference;  // what the program was compared with
  std::vector<AgreementSet> sets;
  std::vector<std::string> examples;  // a few disagreeing words (shortened)
  double seconds = 0;
  int64_t disagreements() const;
  int64_t words() const;
  Json to_json() const;
};

AgreementReport check_agreement(const AgreementOptions& options);

}  // namespace garden::succinct
