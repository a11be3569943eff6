// Complete deterministic finite automata over a small alphabet: construction of the
// automata of the counter family, Hopcroft minimisation, and a slow reference (Moore's
// round-based refinement) the tests check Hopcroft against.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace garden::succinct {

struct Dfa {
  std::string alphabet;
  int32_t start = 0;
  std::vector<int32_t> next;  // next[state * |alphabet| + symbol]; every entry set (complete)
  std::vector<uint8_t> accepting;

  int64_t states() const { return static_cast<int64_t>(accepting.size()); }
  int symbols() const { return static_cast<int>(alphabet.size()); }
  // Symbols outside the alphabet reject.
  bool accepts(std::string_view word) const;
  void check() const;  // throws unless complete and consistent
};

// The path automaton of one word: |word| + 1 prefix states plus a dead state.
Dfa single_word_dfa(const std::string& alphabet, std::string_view word);
// An automaton for the counter segments S_n (a trie for the free first block, then one
// chain per next block); not minimal.
Dfa counter_segments_dfa(int n);

// Hopcroft's partition refinement on the reachable part: the minimal complete DFA.
Dfa minimise(const Dfa& dfa);
// Moore's refinement by successor signatures, O(states^2) in the worst case: a reference.
Dfa minimise_moore(const Dfa& dfa);
// Language equivalence by a breadth-first search of the product automaton.
bool equivalent(const Dfa& a, const Dfa& b);

}  // namespace garden::succinct
