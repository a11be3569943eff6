// B-RASP (Boolean RASP): programs over Boolean vectors, one value per position, and an
// interpreter with exact Boolean semantics. Operations are position-wise formulas and
// attention P(i) = leftmost/rightmost j in mask M(i,j) with score S(i,j): V(j), default D(i).
// Program size = operations + literals in all their formulas.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "garden/core/json.h"

namespace garden::succinct {

using VectorId = int;

// A Boolean vector read at the current position i or, inside an attention score or value,
// at the attended position j; optionally negated.
struct Literal {
  VectorId vector = 0;
  bool negated = false;
  bool at_j = false;
};

// A formula in negation normal form (negation only on literals), plus equivalence, which
// attention scores use for bitwise comparisons.
struct Formula {
  enum class Kind { constant, literal, all_of, any_of, equivalent };
  Kind kind = Kind::constant;
  bool value = false;  // constant
  Literal literal;     // literal
  std::vector<Formula> operands;

  static Formula constant_value(bool v);
  static Formula at_i(VectorId v, bool negated = false);
  static Formula at_j(VectorId v, bool negated = false);
  static Formula all(std::vector<Formula> operands);  // empty = true
  static Formula any(std::vector<Formula> operands);  // empty = false
  static Formula iff(Formula a, Formula b);
  static Formula exclusive_or(Formula a, Formula b);  // iff(a, not b)
  Formula negated() const;                            // De Morgan; stays in NNF
  int literal_count() const;
};

enum class Mask { all, before, after };  // every j, j < i, j > i
enum class TieBreak { leftmost, rightmost };

struct Operation {
  enum class Kind { formula, attention };
  Kind kind = Kind::formula;
  std::string name;
  Formula formula;  // kind formula: the value at i; kind attention: the score S(i, j)
  Mask mask = Mask::all;
  TieBreak tie = TieBreak::leftmost;
  Formula value;     // attention: read at j
  Formula fallback;  // attention: read at i when no j qualifies
};

class Program {
 public:
  // Initial vectors Q_s(i) = [w_i = s], one per alphabet symbol, ids 0..|alphabet|-1.
  explicit Program(std::string alphabet);

  VectorId add_formula(const std::string& name, Formula formula);
  VectorId add_attention(const std::string& name, Mask mask, TieBreak tie, Formula score, Formula value,
                         Formula fallback);
  // The word is accepted iff `vector` holds at its last position (the empty word is rejected).
  void set_output(VectorId vector);

  const std::string& alphabet() const { return alphabet_; }
  VectorId symbol(char c) const;  // the initial vector of symbol c
  const std::vector<Operation>& operations() const { return operations_; }
  int vector_count() const { return static_cast<int>(alphabet_.size() + operations_.size()); }
  const std::string& vector_name(VectorId v) const { return names_.at(v); }
  VectorId output() const { return output_; }
  // Operations + literals (each literal of a score, value, default or formula counts once).
  int64_t size() const;
  int attention_count() const;

  Json to_json() const;
  static Program from_json(const Json& json);  // validates; errors name the operation

 private:
  VectorId add(Operation operation);
  std::string alphabet_;
  std::vector<std::string> names_;
  std::vector<Operation> operations_;
  VectorId output_ = -1;
};

// A program file (Program::to_json's JSON, e.g. from `garden succinct build-counter --out`);
// every error names the file.
Program load_program(const std::filesystem::path& path);

// Evaluates a program exactly. Words are bit-sliced: up to 64 words of one length run at
// once, bit w of every mask belonging to word w. Attention whose score reads at most
// kMaxScoreVariablesAtI vectors at i runs in one sweep per assignment of those vectors
// (linear in the length); larger scores fall back to the quadratic definition.
class Interpreter {
 public:
  static constexpr int kMaxScoreVariablesAtI = 10;
  explicit Interpreter(const Program& program);

  bool accepts(std::string_view word) const;
  // `words` all have the same length, at most 64 of them; bit w of the result = word w accepted.
  uint64_t accepts_batch(const std::vector<std::string_view>& words) const;
  // Every vector's value at every position of one word: trace[v][i].
  std::vector<std::vector<bool>> trace(std::string_view word) const;

 private:
  std::vector<std::vector<uint64_t>> run(const std::vector<std::string_view>& words) const;
  Program program_;  // a copy: programs are small, and a temporary must not dangle
  int symbol_index_[256];
};

std::string to_string(Mask mask);
std::string to_string(TieBreak tie);

}  // namespace garden::succinct
