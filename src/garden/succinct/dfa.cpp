#include "garden/succinct/dfa.h"

#include <fmt/core.h>

#include <algorithm>
#include <map>
#include <queue>
#include <unordered_map>

#include "garden/core/error.h"
#include "garden/succinct/counter.h"

namespace garden::succinct {

bool Dfa::accepts(std::string_view word) const {
  int32_t state = start;
  for (char c : word) {
    const auto symbol = alphabet.find(c);
    if (symbol == std::string::npos) return false;
    state = next[static_cast<size_t>(state) * symbols() + symbol];
  }
  return accepting[state];
}

void Dfa::check() const {
  const int64_t n = states();
  if (n == 0 || start < 0 || start >= n) throw Error("DFA: no states or a start state out of range");
  if (static_cast<int64_t>(next.size()) != n * symbols()) throw Error("DFA: transition table has the wrong size");
  for (int32_t target : next)
    if (target < 0 || target >= n) throw Error("DFA: a transition is missing or points outside the automaton");
}

namespace {

// Grows an automaton state by state; unset transitions go to the dead state 0.
struct Builder {
  explicit Builder(std::string alphabet_) { dfa.alphabet = std::move(alphabet_); }
  int32_t add(bool accepting) {
    dfa.accepting.push_back(accepting);
    dfa.next.resize(dfa.next.size() + dfa.alphabet.size(), 0);
    return static_cast<int32_t>(dfa.accepting.size() - 1);
  }
  int32_t& edge(int32_t state, char c) {
    return dfa.next[static_cast<size_t>(state) * dfa.alphabet.size() + dfa.alphabet.find(c)];
  }
  Dfa dfa;
};

}  // namespace

Dfa single_word_dfa(const std::string& alphabet, std::string_view word) {
  for (char c : word)
    if (alphabet.find(c) == std::string::npos)
      throw Error(fmt::format("DFA: symbol '{}' of the word is not in the alphabet '{}'", c, alphabet));
  Builder b(alphabet);
  b.add(false);  // dead
  int32_t state = b.add(word.empty());
  b.dfa.start = state;
  for (size_t i = 0; i < word.size(); ++i) {
    const int32_t following = b.add(i + 1 == word.size());
    b.edge(state, word[i]) = following;
    state = following;
  }
  return b.dfa;
}

Dfa counter_segments_dfa(int n) {
  const uint64_t max_value = counter_max_value(n);
  if (counter_cells(n) > 16) throw Error(fmt::format("DFA of S_{}: 2^{} blocks do not fit in memory", n, counter_cells(n)));
  Builder b(kCounterAlphabet);
  b.add(false);  // dead
  b.dfa.start = b.add(false);
  const int32_t trie_root = b.add(false);
  b.edge(b.dfa.start, '#') = trie_root;
  std::vector<int32_t> done(max_value + 1);
  for (uint64_t x = 0; x <= max_value; ++x) done[x] = b.add(true);
  for (uint64_t x = 0; x <= max_value; ++x) {
    const std::string block = counter_block(n, x);
    // The first block is free: walk (and grow) the trie.
    int32_t state = trie_root;
    for (char c : block) {
      int32_t& target = b.edge(state, c);
      if (target == 0) {
        const int32_t created = b.add(false);
        b.edge(state, c) = created;  // `target` may dangle after add() grew the table
        state = created;
      } else {
        state = target;
      }
    }
    b.edge(state, '#') = done[x];
    // Every later block is forced: a chain from done(x - 1) to done(x).
    if (x == 0) continue;
    state = done[x - 1];
    for (char c : block) {
      const int32_t created = b.add(false);
      b.edge(state, c) = created;
      state = created;
    }
    b.edge(state, '#') = done[x];
  }
  return b.dfa;
}

namespace {

// The reachable states, renumbered in breadth-first order.
Dfa reachable_part(const Dfa& dfa) {
  dfa.check();
  const int k = dfa.symbols();
  std::vector<int32_t> renumber(dfa.states(), -1);
  std::vector<int32_t> order = {dfa.start};
  renumber[dfa.start] = 0;
  for (size_t at = 0; at < order.size(); ++at)
    for (int s = 0; s < k; ++s) {
      const int32_t t = dfa.next[static_cast<size_t>(order[at]) * k + s];
      if (renumber[t] < 0) {
        renumber[t] = static_cast<int32_t>(order.size());
        order.push_back(t);
      }
    }
  Dfa out;
  out.alphabet = dfa.alphabet;
  out.start = 0;
  out.accepting.resize(order.size());
  out.next.resize(order.size() * k);
  for (size_t q = 0; q < order.size(); ++q) {
    out.accepting[q] = dfa.accepting[order[q]];
    for (int s = 0; s < k; ++s) out.next[q * k + s] = renumber[dfa.next[static_cast<size_t>(order[q]) * k + s]];
  }
  return out;
}

// The quotient automaton of a partition given as block ids per state.
Dfa quotient(const Dfa& dfa, const std::vector<int32_t>& block_of, int32_t blocks) {
  const int k = dfa.symbols();
  Dfa out;
  out.alphabet = dfa.alphabet;
  out.start = block_of[dfa.start];
  out.accepting.assign(blocks, 0);
  out.next.assign(static_cast<size_t>(blocks) * k, -1);
  for (int64_t q = 0; q < dfa.states(); ++q) {
    const int32_t b = block_of[q];
    out.accepting[b] = dfa.accepting[q];
    for (int s = 0; s < k; ++s) out.next[static_cast<size_t>(b) * k + s] = block_of[dfa.next[q * k + s]];
  }
  return out;
}

}  // namespace

Dfa minimise(const Dfa& input) {
  const Dfa dfa = reachable_part(input);
  const int k = dfa.symbols();
  const int32_t n = static_cast<int32_t>(dfa.states());
  // Predecessors per symbol, in compressed rows: predecessors of q on s are
  // sources[offset[s*(n+1) + q] .. offset[s*(n+1) + q + 1]).
  std::vector<int64_t> offset(static_cast<size_t>(k) * (n + 1), 0);
  for (int32_t q = 0; q < n; ++q)
    for (int s = 0; s < k; ++s) ++offset[static_cast<size_t>(s) * (n + 1) + dfa.next[static_cast<size_t>(q) * k + s] + 1];
  for (int s = 0; s < k; ++s)
    for (int32_t q = 0; q < n; ++q) offset[static_cast<size_t>(s) * (n + 1) + q + 1] += offset[static_cast<size_t>(s) * (n + 1) + q];
  std::vector<int32_t> sources(static_cast<size_t>(n) * k);
  {
    std::vector<int64_t> fill(offset);
    for (int32_t q = 0; q < n; ++q)
      for (int s = 0; s < k; ++s) {
        const int32_t t = dfa.next[static_cast<size_t>(q) * k + s];
        sources[static_cast<size_t>(s) * n + fill[static_cast<size_t>(s) * (n + 1) + t]++] = q;
      }
  }
  // The partition: block b owns elements[first[b], end[b]); marked states gather at the front.
  std::vector<int32_t> elements(n), position(n), block_of(n);
  std::vector<int32_t> first, end, marked_end;
  {
    int32_t at = 0;
    for (int accepting = 1; accepting >= 0; --accepting) {
      const int32_t begin = at;
      for (int32_t q = 0; q < n; ++q)
        if (dfa.accepting[q] == accepting) {
          elements[at] = q;
          position[q] = at++;
        }
      if (at > begin) {
        for (int32_t i = begin; i < at; ++i) block_of[elements[i]] = static_cast<int32_t>(first.size());
        first.push_back(begin);
        end.push_back(at);
        marked_end.push_back(begin);
      }
    }
  }
  std::vector<uint8_t> waiting;  // waiting[b * k + s]: splitter (b, s) is queued
  std::vector<std::pair<int32_t, int>> work;
  auto enqueue = [&](int32_t b, int s) {
    if (waiting.size() < (first.size()) * static_cast<size_t>(k)) waiting.resize(first.size() * k, 0);
    if (!waiting[static_cast<size_t>(b) * k + s]) {
      waiting[static_cast<size_t>(b) * k + s] = 1;
      work.emplace_back(b, s);
    }
  };
  for (int32_t b = 0; b < static_cast<int32_t>(first.size()); ++b)
    for (int s = 0; s < k; ++s) enqueue(b, s);
  std::vector<int32_t> splitter, touched;
  while (!work.empty()) {
    const auto [c, s] = work.back();
    work.pop_back();
    waiting[static_cast<size_t>(c) * k + s] = 0;
    splitter.assign(elements.begin() + first[c], elements.begin() + end[c]);
    touched.clear();
    for (int32_t target : splitter) {
      const size_t row = static_cast<size_t>(s) * (n + 1) + target;
      for (int64_t e = offset[row]; e < offset[row + 1]; ++e) {
        const int32_t q = sources[static_cast<size_t>(s) * n + e];
        const int32_t b = block_of[q];
        if (marked_end[b] == first[b]) touched.push_back(b);
        // Swap q into the marked front of its block.
        const int32_t swap_with = elements[marked_end[b]];
        std::swap(elements[position[q]], elements[marked_end[b]]);
        position[swap_with] = position[q];
        position[q] = marked_end[b]++;
      }
    }
    for (int32_t b : touched) {
      if (marked_end[b] == end[b]) {  // every state moved: no split
        marked_end[b] = first[b];
        continue;
      }
      // The marked part becomes a new block.
      const int32_t created = static_cast<int32_t>(first.size());
      first.push_back(first[b]);
      end.push_back(marked_end[b]);
      marked_end.push_back(first[b]);
      first[b] = marked_end[b];
      marked_end[b] = first[b];
      for (int32_t i = first[created]; i < end[created]; ++i) block_of[elements[i]] = created;
      for (int t = 0; t < k; ++t) {
        if (waiting.size() < first.size() * static_cast<size_t>(k)) waiting.resize(first.size() * k, 0);
        if (waiting[static_cast<size_t>(b) * k + t]) {
          enqueue(created, t);
        } else {
          enqueue(end[created] - first[created] <= end[b] - first[b] ? created : b, t);
        }
      }
    }
  }
  return quotient(dfa, block_of, static_cast<int32_t>(first.size()));
}

Dfa minimise_moore(const Dfa& input) {
  const Dfa dfa = reachable_part(input);
  const int k = dfa.symbols();
  const int64_t n = dfa.states();
  std::vector<int32_t> cls(n);
  for (int64_t q = 0; q < n; ++q) cls[q] = dfa.accepting[q];
  int32_t classes = -1;
  while (true) {
    std::map<std::vector<int32_t>, int32_t> ids;
    std::vector<int32_t> refined(n);
    for (int64_t q = 0; q < n; ++q) {
      std::vector<int32_t> signature = {cls[q]};
      for (int s = 0; s < k; ++s) signature.push_back(cls[dfa.next[q * k + s]]);
      refined[q] = ids.emplace(signature, static_cast<int32_t>(ids.size())).first->second;
    }
    cls = std::move(refined);
    if (static_cast<int32_t>(ids.size()) == classes) break;
    classes = static_cast<int32_t>(ids.size());
  }
  return quotient(dfa, cls, classes);
}

bool equivalent(const Dfa& a, const Dfa& b) {
  if (a.alphabet != b.alphabet) return false;
  const int k = a.symbols();
  std::unordered_map<int64_t, bool> seen;
  std::queue<std::pair<int32_t, int32_t>> frontier;
  auto key = [](int32_t p, int32_t q) { return (static_cast<int64_t>(p) << 32) | static_cast<uint32_t>(q); };
  frontier.emplace(a.start, b.start);
  seen[key(a.start, b.start)] = true;
  while (!frontier.empty()) {
    const auto [p, q] = frontier.front();
    frontier.pop();
    if (a.accepting[p] != b.accepting[q]) return false;
    for (int s = 0; s < k; ++s) {
      const int32_t p2 = a.next[static_cast<size_t>(p) * k + s], q2 = b.next[static_cast<size_t>(q) * k + s];
      if (seen.emplace(key(p2, q2), true).second) frontier.emplace(p2, q2);
    }
  }
  return true;
}

}  // namespace garden::succinct
