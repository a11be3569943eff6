#include "garden/succinct/counter.h"

#include <fmt/core.h>

#include <algorithm>
#include <map>

#include "garden/core/error.h"

namespace garden::succinct {

CounterLanguage parse_counter_language(const std::string& name) {
  if (name == "single") return CounterLanguage::single;
  if (name == "segments") return CounterLanguage::segments;
  usage_error(fmt::format("--lang must be single or segments, not '{}'", name));
}

std::string to_string(CounterLanguage language) {
  return language == CounterLanguage::single ? "single" : "segments";
}

void check_counter_n(int n) {
  if (n < 1 || n > kMaxCounterN)
    usage_error(fmt::format("--n must be between 1 and {} (block values are 64-bit numbers), not {}", kMaxCounterN, n));
}

uint64_t counter_cells(int n) {
  check_counter_n(n);
  return uint64_t{1} << n;
}

uint64_t counter_max_value(int n) {
  const uint64_t k = counter_cells(n);
  return k == 64 ? ~uint64_t{0} : (uint64_t{1} << k) - 1;
}

std::string counter_block(int n, uint64_t x) {
  const uint64_t k = counter_cells(n);
  std::string block;
  block.reserve(k * (n + 1));
  for (uint64_t address = 0; address < k; ++address) {
    for (int bit = n - 1; bit >= 0; --bit) block += ((address >> bit) & 1) ? '1' : '0';
    block += ((x >> (k - 1 - address)) & 1) ? 'b' : 'a';
  }
  return block;
}

std::string counter_word(int n, uint64_t x, uint64_t y) {
  if (x > y || y > counter_max_value(n))
    throw Error(fmt::format("counter word: need 0 <= x <= y <= 2^K - 1, got x={} y={}", x, y));
  std::string word = "#";
  for (uint64_t v = x;; ++v) {
    word += counter_block(n, v);
    word += '#';
    if (v == y) break;
  }
  return word;
}

std::string to_decimal(unsigned __int128 value) {
  if (value == 0) return "0";
  std::string digits;
  while (value > 0) {
    digits += static_cast<char>('0' + static_cast<int>(value % 10));
    value /= 10;
  }
  std::reverse(digits.begin(), digits.end());
  return digits;
}

unsigned __int128 single_word_length(int n) {
  const uint64_t k = counter_cells(n);
  const unsigned __int128 blocks = static_cast<unsigned __int128>(1) << k;
  return 1 + blocks * (k * (n + 1) + 1);
}

uint64_t decode_counter_block(int n, std::string_view block) {
  const uint64_t k = counter_cells(n);
  if (block.size() != k * (n + 1))
    throw Error(fmt::format("counter block of length {} (expected {})", block.size(), k * (n + 1)));
  uint64_t x = 0;
  for (uint64_t address = 0; address < k; ++address) {
    const std::string_view cell = block.substr(address * (n + 1), n + 1);
    uint64_t read = 0;
    for (int b = 0; b < n; ++b) {
      if (cell[b] != '0' && cell[b] != '1') throw Error("counter block: address symbol expected");
      read = read * 2 + (cell[b] == '1');
    }
    if (read != address) throw Error(fmt::format("counter block: cell {} has address {}", address, read));
    if (cell[n] != 'a' && cell[n] != 'b') throw Error("counter block: value symbol expected");
    x = (x << 1) | (cell[n] == 'b');
  }
  return x;
}

bool counter_member(int n, CounterLanguage language, std::string_view word) {
  const uint64_t block_length = counter_cells(n) * (n + 1);
  if (word.size() < block_length + 2 || word.front() != '#') return false;
  std::size_t at = 1;
  uint64_t previous = 0, first = 0;
  bool have_previous = false;
  while (at < word.size()) {
    if (word.size() - at < block_length + 1 || word[at + block_length] != '#') return false;
    uint64_t x;
    try {
      x = decode_counter_block(n, word.substr(at, block_length));
    } catch (const Error&) {
      return false;
    }
    if (have_previous && (previous == counter_max_value(n) || x != previous + 1)) return false;
    if (!have_previous) first = x;
    previous = x;
    have_previous = true;
    at += block_length + 1;
  }
  if (language == CounterLanguage::single) return first == 0 && previous == counter_max_value(n);
  return true;
}

Program build_counter_program(int n, CounterLanguage language) {
  check_counter_n(n);
  using F = Formula;
  Program p(kCounterAlphabet);
  const VectorId qa = p.symbol('a'), qb = p.symbol('b'), qh = p.symbol('#');
  auto before_true = [&](const std::string& name, F value) {
    return p.add_attention(name, Mask::before, TieBreak::rightmost, F::constant_value(true), std::move(value),
                           F::constant_value(false));
  };

  // Positions: is there a symbol before / after this one?
  const VectorId has_previous = before_true("has_previous", F::constant_value(true));
  const VectorId has_next = p.add_attention("has_next", Mask::after, TieBreak::leftmost, F::constant_value(true),
                                            F::constant_value(true), F::constant_value(false));
  const VectorId value_symbol = p.add_formula("value_symbol", F::any({F::at_i(qa), F::at_i(qb)}));

  // back[t][s]: the symbol t positions back is s. Each step is "the rightmost j < i",
  // i.e. j = i - 1, applied to the previous step's vector. Only the symbols a check reads
  // are chained: 1 up to 2n+1 back (this and the previous cell's address), 0 up to n back,
  // a/b/# up to n+1 back (what precedes a cell).
  const int deepest = 2 * n + 1;
  std::map<std::pair<int, char>, VectorId> back;
  for (char s : std::string("01ab#")) {
    const int depth = s == '1' ? deepest : s == '0' ? n : n + 1;
    for (int t = 1; t <= depth; ++t) {
      const VectorId source = t == 1 ? p.symbol(s) : back.at({t - 1, s});
      back[{t, s}] = before_true(fmt::format("back{}_{}", t, s == '#' ? std::string("hash") : std::string(1, s)),
                                 F::at_j(source));
    }
  }
  auto at_back = [&](int t, char s, bool negated = false) { return F::at_i(back.at({t, s}), negated); };
  // For a value symbol at i: address bit k (k = 0 most significant) of its own cell and of
  // the cell before it.
  auto address_bit = [&](int k) { return back.at({n - k, '1'}); };
  auto previous_address_bit = [&](int k) { return at_back(2 * n + 1 - k, '1'); };

  std::vector<VectorId> flags;
  auto flag = [&](const std::string& name, F formula) { flags.push_back(p.add_formula("flag_" + name, std::move(formula))); };
  const F first = F::at_i(has_previous, true), last = F::at_i(has_next, true);

  // 1. Framing.
  flag("first_not_hash", F::all({first, F::at_i(qh, true)}));
  flag("last_not_hash", F::all({last, F::at_i(qh, true)}));
  flag("hash_after_non_value",
       F::all({F::at_i(qh), F::at_i(has_previous), at_back(1, 'a', true), at_back(1, 'b', true)}));
  flag("single_symbol", F::all({first, last}));

  // 2. Cell shape: n address symbols, then before them a value symbol or #.
  std::vector<F> bad_shape;
  for (int t = 1; t <= n; ++t) bad_shape.push_back(F::all({at_back(t, '0', true), at_back(t, '1', true)}));
  bad_shape.push_back(F::all({at_back(n + 1, 'a', true), at_back(n + 1, 'b', true), at_back(n + 1, '#', true)}));
  flag("cell_shape", F::all({F::at_i(value_symbol), F::any(std::move(bad_shape))}));

  // 3. Addresses: 0^n opens a block, each next cell adds one (ripple carry), 1^n closes it.
  std::vector<F> nonzero;
  for (int k = 0; k < n; ++k) nonzero.push_back(F::at_i(address_bit(k)));
  flag("block_starts_nonzero", F::all({F::at_i(value_symbol), at_back(n + 1, '#'), F::any(nonzero)}));
  std::vector<F> bad_increment;
  std::vector<F> all_ones;
  for (int k = 0; k < n; ++k) {
    std::vector<F> lower;  // carry into bit k = all less significant bits of the old address are 1
    for (int m = k + 1; m < n; ++m) lower.push_back(previous_address_bit(m));
    // new_k != old_k xor carry_k  <=>  new_k xor old_k xor carry_k  <=>  iff(new_k, iff(old_k, carry_k))
    bad_increment.push_back(F::iff(F::at_i(address_bit(k)), F::iff(previous_address_bit(k), F::all(std::move(lower)))));
    all_ones.push_back(previous_address_bit(k));
  }
  bad_increment.push_back(F::all(all_ones));  // the previous cell was the block's last
  flag("address_increment",
       F::all({F::at_i(value_symbol), F::any({at_back(n + 1, 'a'), at_back(n + 1, 'b')}), F::any(std::move(bad_increment))}));
  std::vector<F> not_last_address;
  for (int k = 0; k < n; ++k) not_last_address.push_back(at_back(n + 1 - k, '1', true));
  flag("block_ends_below_last_address",
       F::all({F::at_i(qh), F::at_i(has_previous), F::any(std::move(not_last_address))}));

  // 4. Block increment against the same address in the previous block.
  const VectorId separator = p.add_formula("separator", F::all({F::at_i(qh), F::at_i(has_previous)}));
  const VectorId after_first_block = p.add_attention("after_first_block", Mask::before, TieBreak::rightmost,
                                                     F::at_j(separator), F::constant_value(true), F::constant_value(false));
  const VectorId a_or_hash = p.add_formula("a_or_hash", F::any({F::at_i(qa), F::at_i(qh)}));
  // carry into my bit when my block is incremented: every later cell of the block holds b,
  // i.e. the first a-or-# after me is #.
  const VectorId carry = p.add_attention("carry", Mask::after, TieBreak::leftmost, F::at_j(a_or_hash), F::at_j(qh),
                                         F::constant_value(false));
  auto same_address_score = [&] {
    std::vector<F> score = {F::at_j(value_symbol)};
    for (int k = 0; k < n; ++k) score.push_back(F::iff(F::at_i(address_bit(k)), F::at_j(address_bit(k))));
    return F::all(std::move(score));
  };
  auto same_address = [&](const std::string& name, F value) {
    return p.add_attention(name, Mask::before, TieBreak::rightmost, same_address_score(), std::move(value),
                           F::constant_value(false));
  };
  const VectorId found = same_address("old_found", F::constant_value(true));
  const VectorId old_bit = same_address("old_bit", F::at_j(qb));
  const VectorId old_carry = same_address("old_carry", F::at_j(carry));
  const F in_later_block = F::all({F::at_i(value_symbol), F::at_i(after_first_block)});
  flag("block_increment",
       F::all({in_later_block, F::any({F::at_i(found, true), F::iff(F::at_i(qb), F::iff(F::at_i(old_bit), F::at_i(old_carry)))})}));
  std::vector<F> overflow = {in_later_block, F::at_i(found), F::at_i(old_bit), F::at_i(old_carry)};
  for (int k = 0; k < n; ++k) overflow.push_back(F::at_i(address_bit(k), true));
  flag("block_overflow", F::all(std::move(overflow)));

  // 5. C_n: it starts at block(0) and ends at block(2^K - 1).
  if (language == CounterLanguage::single) {
    flag("first_block_not_zero", F::all({F::at_i(value_symbol), F::at_i(after_first_block, true), F::at_i(qb)}));
    const VectorId in_last_block = p.add_attention("in_last_block", Mask::after, TieBreak::leftmost, F::at_j(qh),
                                                   F::at_j(has_next, true), F::constant_value(false));
    flag("last_block_not_max", F::all({F::at_i(value_symbol), F::at_i(in_last_block), F::at_i(qa)}));
  }

  std::vector<F> any_flag;
  for (VectorId f : flags) any_flag.push_back(F::at_i(f));
  const VectorId violation = p.add_formula("violation", F::any(std::move(any_flag)));
  const VectorId violation_anywhere = p.add_attention("violation_anywhere", Mask::all, TieBreak::leftmost,
                                                      F::at_j(violation), F::constant_value(true), F::constant_value(false));
  p.set_output(p.add_formula("accept", F::at_i(violation_anywhere, true)));
  return p;
}

}  // namespace garden::succinct
