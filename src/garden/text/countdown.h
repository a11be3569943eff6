// "countdown-3", the verifiable task of the RLVR reproduction (rlvr-passk.md, "Small-scale
// reproduction"): three digits a, b, c in 1..9 and a target T; an answer fills one of eight
// templates with a, b, c in that order and writes the value, and is right iff the expression
// it wrote equals T. Problems are drawn from a skewed prior over the templates (template j
// weighs 1/(j+1)) and kept when one or two templates reach T, so a problem has few answers.
//
// Text format (a byte-level model reads it character by character):
//   prompt      "3 4 5 to 35:"
//   completion  " (3+4)*5=7*5=35"    the expression, its first operation done, the value
// The middle step is the reasoning trace the model writes before its answer. The verifier
// reads the expression before the first '=' and ignores the values stated after it.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace garden::text::countdown {

inline constexpr int kTemplates = 8;
// In the spec's fixed order; the last, a*(b+c), is the family the base model never sees.
inline constexpr std::array<const char*, kTemplates> kTemplateForms = {"a+b+c",   "a+b-c",   "a-b+c",   "a*b+c",
                                                                       "a*b-c",   "(a+b)*c", "(a-b)*c", "a*(b+c)"};
inline constexpr int kWithheldTemplate = kTemplates - 1;

struct Problem {
  int a = 1, b = 1, c = 1;
  int64_t target = 0;
  std::vector<int> hits;  // the templates whose value is the target, ascending
  bool operator==(const Problem& other) const { return a == other.a && b == other.b && c == other.c && target == other.target; }
};

int64_t template_value(int form, int a, int b, int c);
// The templates reaching `target` with these digits.
std::vector<int> hitting_templates(int a, int b, int c, int64_t target);
// A problem of digits and target with its hits filled in; an error for digits outside 1..9.
Problem make_problem(int a, int b, int c, int64_t target);

std::string prompt(const Problem& problem);
// " (3+4)*5=7*5=35": the template filled in, the value after its first operation, the value.
std::string trace(int form, const Problem& problem);
// The expression of a template filled in, "(3+4)*5".
std::string expression(int form, int a, int b, int c);

// The verifier's reading of a completion: the expression before the first '=', spaces
// ignored, must be one of the templates filled with a, b, c in order (form, else -1:
// malformed), and it is correct iff its value is the target. What follows '=' is not read.
struct Verdict {
  bool correct = false;
  int form = -1;
};
Verdict verify(const Problem& problem, const std::string& completion);

// The value of an arithmetic expression of digits, + - * and parentheses (the usual
// precedence, left to right), or nothing when it is not one.
std::optional<int64_t> evaluate(const std::string& expression);

// The skewed prior: template j drawn with weight 1/(j+1); `allowed` limits the draw to those
// templates (an error when none is allowed).
int draw_template(std::mt19937_64& rng, const std::array<bool, kTemplates>& allowed);

// A problem drawn as the spec draws it: digits uniform in 1..9, a template from the prior, the
// target its value; redrawn until one or two templates hit.
Problem draw_problem(std::mt19937_64& rng);

// Distinct held-out problems: `total`, of which `withheld_only` are solvable by the withheld
// template alone and the others are not (drawn by draw_problem). Deterministic in `seed`.
std::vector<Problem> held_out_problems(int64_t total, int64_t withheld_only, uint64_t seed);
// `count` problems drawn by draw_problem, none of them in `exclude` (repeats allowed).
std::vector<Problem> training_problems(int64_t count, uint64_t seed, const std::vector<Problem>& exclude);

// The answer of a pre-training example (the spec's noisy base data): with probability
// `hit_rate` a hitting template (uniform among the hits the allowed set leaves), otherwise a
// template from the prior over the allowed ones, right or wrong; arithmetic always correct.
int noisy_answer(std::mt19937_64& rng, const Problem& problem, double hit_rate, const std::array<bool, kTemplates>& allowed);
// The oracle's answer: a hitting template, uniform among the hits.
int oracle_answer(std::mt19937_64& rng, const Problem& problem);

std::array<bool, kTemplates> all_templates();
std::array<bool, kTemplates> without_withheld();  // every template but a*(b+c)

}  // namespace garden::text::countdown
