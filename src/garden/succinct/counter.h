// The counter family garden uses to illustrate succinctness (spec: succinct-transformers.md,
// "Language family used by garden"). Alphabet {0,1,a,b,#}, K = 2^n. A cell is an n-bit
// address followed by a (bit 0) or b (bit 1); block(x) lists cells 0..K-1 holding x's bits,
// most significant first. C_n = {#block(0)#block(1)#...#block(2^K-1)#} (one word, W_n);
// S_n = all #block(x)#block(x+1)#...#block(y)# with 0 <= x <= y < 2^K (no wrap-around).
#pragma once

#include <cstdint>
#include <string>

#include "garden/succinct/brasp.h"

namespace garden::succinct {

enum class CounterLanguage { single, segments };  // C_n, S_n

inline constexpr const char* kCounterAlphabet = "01ab#";
inline constexpr int kMaxCounterN = 6;  // block values are 64-bit numbers

CounterLanguage parse_counter_language(const std::string& name);  // "single" | "segments"
std::string to_string(CounterLanguage language);
void check_counter_n(int n);  // usage error unless 1 <= n <= kMaxCounterN

uint64_t counter_cells(int n);  // K = 2^n
std::string counter_block(int n, uint64_t x);
// #block(x)#block(x+1)#...#block(y)#
std::string counter_word(int n, uint64_t x, uint64_t y);
uint64_t counter_max_value(int n);  // 2^K - 1
// |W_n| = 1 + 2^K (K(n+1) + 1), exactly (it exceeds 64 bits at n = 6).
unsigned __int128 single_word_length(int n);
std::string to_decimal(unsigned __int128 value);

// Membership by direct parsing: the reference the program and the automata are checked against.
bool counter_member(int n, CounterLanguage language, std::string_view word);
// Decodes a block string back to x (throws on a malformed block); used by the tests.
uint64_t decode_counter_block(int n, std::string_view block);

// The poly(n) B-RASP program: accept iff no position raises a violation flag (framing,
// cell shape, address increments, block increment, and for C_n the first/last blocks).
Program build_counter_program(int n, CounterLanguage language);

}  // namespace garden::succinct
