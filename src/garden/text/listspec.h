// "listspec", the engine-generated task of the lost-in-conversation reproduction
// (lost-in-conversation.md, "Small-scale reproduction"): an instruction asks for a list of
// digits under 3 to 5 constraints (length 3..6; all even or all odd; sorted ascending or
// descending; a given first item; no repeats; every item below 5; an even sum). Its shards
// are the intent ("i need a list of digits") and one shard per constraint; its full prompt
// is one templated sentence; an answer is a bracketed list "[3, 5, 7]" and scores 100 iff it
// satisfies every constraint. Every generated instruction has a solution (found by search).
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace garden::text::listspec {

using Rng = std::mt19937_64;

enum class Kind { length, parity, order, first, distinct, small, even_sum };
inline constexpr int kKinds = 7;
std::string to_string(Kind kind);
Kind parse_kind(const std::string& name);  // an Error naming the kind otherwise

// value: length L (3..6); parity 0 = even, 1 = odd; order 0 = ascending, 1 = descending;
// first: the digit; unused by the other kinds.
struct Constraint {
  Kind kind = Kind::length;
  int value = 0;
  bool operator==(const Constraint& other) const { return kind == other.kind && value == other.value; }
};

using Digits = std::vector<int>;

// Whether a non-empty list of digits meets one constraint / all of them. "Sorted" allows
// equal neighbours (no repeats is its own constraint).
bool satisfies(const Digits& list, const Constraint& constraint);
bool satisfies_all(const Digits& list, const std::vector<Constraint>& constraints);

// A random list meeting every constraint, by a depth-first search over shuffled choices
// (lengths 3..6 unless a length is given), or none when no list can; the search is exhaustive,
// so "none" is a proof.
std::optional<Digits> random_solution(const std::vector<Constraint>& constraints, Rng& rng);

// 3..5 constraints of distinct kinds with random values, redrawn until a solution exists, in
// the template's order (that of Kind: length, parity, order, first, distinct, small, sum).
std::vector<Constraint> random_constraints(Rng& rng);
std::vector<Constraint> in_template_order(std::vector<Constraint> constraints);

// ---- texts ------------------------------------------------------------------------------

inline constexpr const char* kIntent = "i need a list of digits";
inline constexpr int kParaphrases = 3;
// The constraint as a shard ("it has 4 items"), as the user may say it in a later turn
// (variant 0..kParaphrases-1: "make it 4 digits long"), and as a clause of the full prompt.
std::string shard_text(const Constraint& constraint);
std::string paraphrase(const Constraint& constraint, int variant);
// One templated sentence, its clauses in the template's order whatever the order given:
// "i need a list of digits with 4 items, only odd digits and an even sum"
std::string full_prompt(const std::vector<Constraint>& constraints);

// "[3, 5, 7]"
std::string format_list(const Digits& list);
// Every bracketed list of single digits in `text` ("[3, 5, 7]", "[3,5,7]", "[ 3 5 7 ]"), in
// order; brackets holding anything else (or nothing) are not lists.
std::vector<Digits> extract_lists(const std::string& text);

}  // namespace garden::text::listspec
