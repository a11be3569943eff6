#include "garden/succinct/brasp.h"

#include <gtest/gtest.h>

#include <random>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "test_files.h"

namespace garden::succinct {
namespace {

using F = Formula;

// Word "abcdefgh": every position has its own symbol, so the value Q_k(j) names the picked j.
struct PickFixture {
  Program program{"abcdefgh"};
  VectorId marked;  // positions 2, 4, 6
  PickFixture() {
    marked = program.add_formula("marked", F::any({F::at_i(program.symbol('c')), F::at_i(program.symbol('e')),
                                                   F::at_i(program.symbol('g'))}));
  }
  // The position each i attends to (-1: none qualifies) for one mask and tie-break.
  std::vector<int> picks(Mask mask, TieBreak tie) {
    Program p = program;
    const std::string tag = to_string(mask) + to_string(tie);
    std::vector<VectorId> picked;
    for (char c : std::string("abcdefgh"))
      picked.push_back(p.add_attention(tag + c, mask, tie, F::at_j(marked), F::at_j(p.symbol(c)), F::constant_value(false)));
    const auto trace = Interpreter(p).trace("abcdefgh");
    std::vector<int> out;
    for (int i = 0; i < 8; ++i) {
      int pick = -1;
      for (int k = 0; k < 8; ++k)
        if (trace[picked[k]][i]) pick = k;
      out.push_back(pick);
    }
    return out;
  }
};

TEST(Brasp, AttentionPicksByMaskAndTieBreak) {
  PickFixture f;
  EXPECT_EQ(f.picks(Mask::before, TieBreak::rightmost), (std::vector<int>{-1, -1, -1, 2, 2, 4, 4, 6}));
  EXPECT_EQ(f.picks(Mask::before, TieBreak::leftmost), (std::vector<int>{-1, -1, -1, 2, 2, 2, 2, 2}));
  EXPECT_EQ(f.picks(Mask::after, TieBreak::leftmost), (std::vector<int>{2, 2, 4, 4, 6, 6, -1, -1}));
  EXPECT_EQ(f.picks(Mask::after, TieBreak::rightmost), (std::vector<int>{6, 6, 6, 6, 6, 6, -1, -1}));
  EXPECT_EQ(f.picks(Mask::all, TieBreak::leftmost), (std::vector<int>(8, 2)));
  EXPECT_EQ(f.picks(Mask::all, TieBreak::rightmost), (std::vector<int>(8, 6)));
}

TEST(Brasp, DefaultIsUsedExactlyWhenNoPositionQualifies) {
  Program p("ab");
  const VectorId none_before = p.add_attention("none_before", Mask::before, TieBreak::rightmost, F::at_j(p.symbol('b')),
                                               F::constant_value(false), F::constant_value(true));
  // Default read at i: Q_a(i).
  const VectorId fallback = p.add_attention("fallback", Mask::before, TieBreak::rightmost, F::at_j(p.symbol('b')),
                                            F::constant_value(false), F::at_i(p.symbol('a')));
  const auto trace = Interpreter(p).trace("aabab");
  EXPECT_EQ(trace[none_before], (std::vector<bool>{true, true, true, false, false}));
  EXPECT_EQ(trace[fallback], (std::vector<bool>{true, true, false, false, false}));
}

TEST(Brasp, RightmostBeforeChainReadsTheSymbolTBack) {
  Program p("xyz");
  std::vector<VectorId> back;  // back[t-1]: the symbol t back is y
  for (int t = 1; t <= 4; ++t)
    back.push_back(p.add_attention("back" + std::to_string(t), Mask::before, TieBreak::rightmost, F::constant_value(true),
                                   F::at_j(t == 1 ? p.symbol('y') : back.back()), F::constant_value(false)));
  const std::string word = "yxzyyxzy";
  const auto trace = Interpreter(p).trace(word);
  for (int t = 1; t <= 4; ++t)
    for (int i = 0; i < static_cast<int>(word.size()); ++i)
      EXPECT_EQ(trace[back[t - 1]][i], i >= t && word[i - t] == 'y') << "t=" << t << " i=" << i;
}

// The interpreter's linear sweep (scores reading few vectors at i) against its quadratic
// definition (forced by padding the score with tautologies over more vectors at i).
TEST(Brasp, SweepEqualsTheQuadraticDefinition) {
  Program p("ab");
  std::vector<VectorId> bits;
  for (int t = 1; t <= 12; ++t)
    bits.push_back(p.add_attention("b" + std::to_string(t), Mask::before, TieBreak::rightmost, F::constant_value(true),
                                   F::at_j(t == 1 ? p.symbol('a') : bits.back()), F::constant_value(false)));
  std::vector<std::pair<VectorId, VectorId>> pairs;
  for (Mask mask : {Mask::all, Mask::before, Mask::after})
    for (TieBreak tie : {TieBreak::leftmost, TieBreak::rightmost}) {
      const std::string tag = to_string(mask) + to_string(tie);
      F score = F::all({F::iff(F::at_i(bits[0]), F::at_j(bits[1])), F::at_j(p.symbol('b'))});
      std::vector<F> padded = {score};
      for (VectorId b : bits) padded.push_back(F::any({F::at_i(b), F::at_i(b, true)}));
      const VectorId sweep = p.add_attention(tag + "_sweep", mask, tie, score, F::at_j(bits[2]), F::at_i(bits[3]));
      const VectorId quadratic = p.add_attention(tag + "_quad", mask, tie, F::all(padded), F::at_j(bits[2]), F::at_i(bits[3]));
      pairs.emplace_back(sweep, quadratic);
    }
  std::mt19937 rng(7);
  for (int trial = 0; trial < 50; ++trial) {
    std::string word(1 + rng() % 40, 'a');
    for (char& c : word) c = rng() % 2 ? 'a' : 'b';
    const auto trace = Interpreter(p).trace(word);
    for (const auto& [sweep, quadratic] : pairs) EXPECT_EQ(trace[sweep], trace[quadratic]) << word;
  }
}

TEST(Brasp, BatchEqualsOneWordAtATime) {
  Program p("ab");
  const VectorId b_before = p.add_attention("b_before", Mask::before, TieBreak::leftmost, F::at_j(p.symbol('b')),
                                            F::constant_value(true), F::constant_value(false));
  p.set_output(p.add_formula("out", F::any({F::at_i(b_before), F::at_i(p.symbol('a'), true)})));
  const Interpreter interpreter(p);
  std::vector<std::string> words;
  for (int w = 0; w < 64; ++w) {
    std::string word;
    for (int i = 0; i < 6; ++i) word += (w >> i) & 1 ? 'b' : 'a';
    words.push_back(word);
  }
  const uint64_t batch = interpreter.accepts_batch(std::vector<std::string_view>(words.begin(), words.end()));
  for (int w = 0; w < 64; ++w) EXPECT_EQ((batch >> w) & 1, interpreter.accepts(words[w]) ? 1u : 0u) << words[w];
  EXPECT_FALSE(interpreter.accepts(""));
  EXPECT_THROW(interpreter.accepts("abc"), Error);
}

TEST(Brasp, SizeCountsOperationsAndLiterals) {
  Program p("ab");
  p.add_formula("f", F::all({F::at_i(0), F::at_i(1, true)}));                                            // 1 + 2
  p.add_attention("g", Mask::before, TieBreak::rightmost, F::iff(F::at_i(0), F::at_j(1)), F::at_j(2), F::constant_value(false));  // 1 + 2 + 1
  EXPECT_EQ(p.size(), 7);
  EXPECT_EQ(p.attention_count(), 1);
}

TEST(Brasp, RejectsMalformedPrograms) {
  Program p("ab");
  EXPECT_THROW(p.add_formula("reads_j", F::at_j(0)), Error);
  EXPECT_THROW(p.add_formula("undefined", F::at_i(5)), Error);
  EXPECT_THROW(p.add_attention("value_at_i", Mask::all, TieBreak::leftmost, F::constant_value(true), F::at_i(0),
                               F::constant_value(false)),
               Error);
  p.add_formula("x", F::at_i(0));
  EXPECT_THROW(p.add_formula("x", F::at_i(1)), Error);
  EXPECT_THROW(Program("aa"), Error);
  EXPECT_THROW(Program::from_json(Json{{"alphabet", "ab"}, {"operations", {{{"name", "y"}, {"formula", {{"var", "nope"}}}}}}}), Error);
}

// Program files whose fields have the wrong type, or that nest formulas too deep to read
// without exhausting the stack, are one error naming the file (found by tests/fuzz/brasp.cpp;
// they used to escape as nlohmann exceptions, or to crash).
TEST(Brasp, ProgramFilesWithBadFieldsAreNamed) {
  testing::TempDir dir;
  const auto file = dir.path() / "program.json";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"alphabet": 7, "operations": []})", "program.json: not a B-RASP program: type must be string, but is number"},
      {R"({"alphabet": "ab", "operations": [{"name": 1, "formula": true}]})", "program.json: not a B-RASP program"},
      {R"({"alphabet": "ab", "operations": [{"name": "x", "attention": {"mask": "all"}}]})", "program.json: not a B-RASP program: key 'value' not found"},
      {R"({"alphabet": "ab", "operations": [{"name": "x", "formula": {"var": 3}}]})", "program.json: not a B-RASP program"},
      {R"({"alphabet": "ab", "operations": [{"name": "x", "formula": {"var": "nope"}}]})", "program.json: B-RASP operation 'x': unknown vector 'nope'"},
      {R"({"alphabet": "ab", "operations": [{"name": "x", "formula": true}], "output": 5})", "program.json: not a B-RASP program"},
  };
  for (const auto& [text, fragment] : cases) {
    write_file_atomic(file, text);
    testing::expect_error_containing([&] { load_program(file); }, fragment);
  }
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "{\"and\": [";
  deep += "true";
  for (int i = 0; i < 100000; ++i) deep += "]}";
  write_file_atomic(file, R"({"alphabet": "ab", "operations": [{"name": "x", "formula": )" + deep + "}]}");
  testing::expect_error_containing([&] { load_program(file); }, "program.json: B-RASP operation 'x': formulas nested deeper than 200");
}

TEST(Brasp, JsonRoundTripKeepsSizeAndBehaviour) {
  Program p("ab");
  const VectorId prev_a = p.add_attention("prev_a", Mask::before, TieBreak::rightmost, F::constant_value(true),
                                          F::at_j(p.symbol('a')), F::constant_value(false));
  p.set_output(p.add_formula("out", F::iff(F::at_i(prev_a), F::at_i(p.symbol('b')))));
  const Program q = Program::from_json(Json::parse(p.to_json().dump()));
  EXPECT_EQ(q.size(), p.size());
  for (const char* w : {"ab", "ba", "aab", "abb", "b"}) EXPECT_EQ(Interpreter(q).accepts(w), Interpreter(p).accepts(w)) << w;
}

}  // namespace
}  // namespace garden::succinct
