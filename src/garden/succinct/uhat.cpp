#include "garden/succinct/uhat.h"

#include <fmt/core.h>

#include <algorithm>
#include <bit>
#include <map>

#include "garden/core/error.h"

namespace garden::succinct {

int32_t SparseAffine::add_row(std::vector<std::pair<int32_t, int64_t>> terms, int64_t bias_value, int32_t write) {
  std::erase_if(terms, [](const auto& t) { return t.second == 0; });
  rows.push_back(std::move(terms));
  bias.push_back(bias_value);
  writes.push_back(write);
  return static_cast<int32_t>(rows.size() - 1);
}

int64_t SparseAffine::row(size_t r, const int64_t* in) const {
  int64_t sum = bias[r];
  for (const auto& [column, weight] : rows[r]) {
    int64_t product;
    if (__builtin_mul_overflow(weight, in[column], &product) || __builtin_add_overflow(sum, product, &sum))
      throw Error("UHAT simulation: an activation overflowed 64 bits");
  }
  return sum;
}

int64_t SparseAffine::nonzeros() const {
  int64_t count = 0;
  for (size_t r = 0; r < rows.size(); ++r) count += static_cast<int64_t>(rows[r].size()) + (bias[r] != 0);
  return count;
}

int64_t SparseAffine::max_abs() const {
  int64_t largest = 0;
  for (size_t r = 0; r < rows.size(); ++r) {
    largest = std::max(largest, bias[r] < 0 ? -bias[r] : bias[r]);
    for (const auto& term : rows[r]) largest = std::max(largest, term.second < 0 ? -term.second : term.second);
  }
  return largest;
}

namespace {

// An affine function of one position's residual vector whose value is 0 or 1.
struct Affine {
  std::vector<std::pair<int32_t, int64_t>> terms;
  int64_t bias = 0;
  Affine scaled(int64_t factor, int64_t offset) const {
    Affine a = *this;
    for (auto& t : a.terms) t.second *= factor;
    a.bias = a.bias * factor + offset;
    return a;
  }
};

Affine sum(const std::vector<Affine>& parts, int64_t offset) {
  Affine total;
  total.bias = offset;
  for (const Affine& p : parts) {
    for (const auto& t : p.terms) total.terms.push_back(t);
    total.bias += p.bias;
  }
  // Merge repeated columns so that every weight is written once.
  std::map<int32_t, int64_t> merged;
  for (const auto& [c, w] : total.terms) merged[c] += w;
  total.terms.assign(merged.begin(), merged.end());
  return total;
}

Affine difference(const Affine& a, const Affine& b) { return sum({a, b.scaled(-1, 0)}, 0); }

}  // namespace

class UhatCompiler {
 public:
  static constexpr size_t kMaxFanIn = 3;

  explicit UhatCompiler(const Program& program) : program_(program) {
    uhat_.alphabet_ = program.alphabet();
    constant_ = fresh();
    for (size_t s = 0; s < program.alphabet().size(); ++s) {
      coordinate_.push_back(fresh());
      ready_.push_back(-1);
      uhat_.embedding_.push_back({{constant_, 1}, {coordinate_.back(), 1}});
    }
  }

  Uhat compile() {
    for (const Operation& op : program_.operations()) {
      const int32_t target = fresh();
      coordinate_.push_back(target);
      if (op.kind == Operation::Kind::formula) {
        ready_.push_back(compile_formula_into(op.formula, target));
      } else {
        ready_.push_back(compile_attention(op, target));
      }
    }
    if (program_.output() < 0) throw Error("compile-uhat: the program has no output vector");
    uhat_.acceptance_.add_row({{coordinate_[program_.output()], 2}}, -1);
    uhat_.width_ = width_;
    std::erase_if(slots_, [](const UhatSublayer& s) {
      return s.kind == UhatSublayer::Kind::attention ? s.heads.empty() : s.output.rows.empty();
    });
    uhat_.sublayers_ = std::move(slots_);
    return std::move(uhat_);
  }

 private:
  int32_t fresh() { return width_++; }

  // Sublayer slots alternate attention (even) and feed-forward (odd).
  UhatSublayer& slot(int index) {
    while (static_cast<int>(slots_.size()) <= index) {
      UhatSublayer s;
      s.kind = slots_.size() % 2 == 0 ? UhatSublayer::Kind::attention : UhatSublayer::Kind::feed_forward;
      slots_.push_back(std::move(s));
    }
    return slots_[index];
  }
  static int next_slot(int after, bool attention) {
    int s = after + 1;
    if ((s % 2 == 0) != attention) ++s;
    return s;
  }

  Affine literal_at_i(const Literal& l) const {
    Affine a;
    a.terms = {{coordinate_[l.vector], l.negated ? -1 : 1}};
    a.bias = l.negated ? 1 : 0;
    return a;
  }
  static Affine constant(bool v) {
    Affine a;
    a.bias = v ? 1 : 0;
    return a;
  }

  // A formula as an affine function plus the slot after which it can be read; composite
  // formulas get a coordinate (`target`, or a fresh one) written by a feed-forward layer.
  std::pair<Affine, int> compile_node(const Formula& f, int32_t target) {
    if (f.kind == Formula::Kind::constant) return {constant(f.value), -1};
    if (f.kind == Formula::Kind::literal) return {literal_at_i(f.literal), ready_[f.literal.vector]};
    if ((f.kind == Formula::Kind::all_of || f.kind == Formula::Kind::any_of) && f.operands.size() > kMaxFanIn) {
      // A gate's bias grows with its fan-in (AND: -(k-1); OR over negated literals: k), so
      // wide gates become trees of fan-in 3: every weight stays within [-3, 3] whatever n
      // is (fixed precision), at the price of a few more layers.
      Formula tree;
      tree.kind = f.kind;
      for (size_t at = 0; at < f.operands.size(); at += kMaxFanIn) {
        const std::vector<Formula> group(f.operands.begin() + at,
                                         f.operands.begin() + std::min(f.operands.size(), at + kMaxFanIn));
        tree.operands.push_back(f.kind == Formula::Kind::all_of ? Formula::all(group) : Formula::any(group));
      }
      return compile_node(tree, target);
    }
    std::vector<Affine> children;
    int ready = -1;
    for (const Formula& operand : f.operands) {
      auto [affine, at] = compile_node(operand, -1);
      children.push_back(std::move(affine));
      ready = std::max(ready, at);
    }
    const int32_t out = target >= 0 ? target : fresh();
    const int at = next_slot(ready, false);
    UhatSublayer& layer = slot(at);
    auto hidden = [&](const Affine& a) { return layer.hidden.add_row(a.terms, a.bias); };
    const int64_t k = static_cast<int64_t>(children.size());
    if (f.kind == Formula::Kind::all_of) {
      if (children.empty()) {
        layer.output.add_row({}, 1, out);
      } else {
        layer.output.add_row({{hidden(sum(children, -(k - 1))), 1}}, 0, out);
      }
    } else if (f.kind == Formula::Kind::any_of) {
      if (children.empty()) {
        layer.output.add_row({}, 0, out);
      } else {
        const int32_t h1 = hidden(sum(children, 0)), h2 = hidden(sum(children, -1));
        layer.output.add_row({{h1, 1}, {h2, -1}}, 0, out);
      }
    } else {  // equivalent
      const int32_t h1 = hidden(difference(children[0], children[1]));
      const int32_t h2 = hidden(difference(children[1], children[0]));
      layer.output.add_row({{h1, -1}, {h2, -1}}, 1, out);
    }
    Affine value;
    value.terms = {{out, 1}};
    return {value, at};
  }

  int compile_formula_into(const Formula& f, int32_t target) {
    if (f.kind == Formula::Kind::constant || f.kind == Formula::Kind::literal) {
      auto [affine, ready] = compile_node(f, -1);
      const int at = next_slot(ready, false);
      UhatSublayer& layer = slot(at);
      if (affine.terms.empty()) {
        layer.output.add_row({}, affine.bias, target);
      } else {  // a 0/1 literal is its own ReLU
        layer.output.add_row({{layer.hidden.add_row(affine.terms, affine.bias), 1}}, 0, target);
      }
      return at;
    }
    return compile_node(f, target).second;
  }

  int ready_of(const Formula& f) const {
    if (f.kind == Formula::Kind::literal) return ready_[f.literal.vector];
    int ready = -1;
    for (const Formula& operand : f.operands) ready = std::max(ready, ready_of(operand));
    return ready;
  }

  int compile_attention(const Operation& op, int32_t target) {
    const std::string where = fmt::format("compile-uhat: attention '{}'", op.name);
    // Split the score into i-literals, j-literals and i/j equivalences.
    std::vector<Affine> literals_i, literals_j;
    std::vector<std::pair<Affine, Affine>> equalities;  // (at i, at j)
    std::vector<const Formula*> items;
    if (op.formula.kind == Formula::Kind::all_of) {
      for (const Formula& operand : op.formula.operands) items.push_back(&operand);
    } else {
      items.push_back(&op.formula);
    }
    auto at_j = [&](const Literal& l) {
      Affine a;
      a.terms = {{coordinate_[l.vector], l.negated ? -1 : 1}};
      a.bias = l.negated ? 1 : 0;
      return a;
    };
    for (const Formula* item : items) {
      if (item->kind == Formula::Kind::constant) {
        if (!item->value) literals_i.push_back(constant(false));
      } else if (item->kind == Formula::Kind::literal) {
        (item->literal.at_j ? literals_j : literals_i).push_back(at_j(item->literal));
      } else if (item->kind == Formula::Kind::equivalent && item->operands[0].kind == Formula::Kind::literal &&
                 item->operands[1].kind == Formula::Kind::literal &&
                 item->operands[0].literal.at_j != item->operands[1].literal.at_j) {
        const Literal& a = item->operands[0].literal.at_j ? item->operands[1].literal : item->operands[0].literal;
        const Literal& b = item->operands[0].literal.at_j ? item->operands[0].literal : item->operands[1].literal;
        equalities.emplace_back(at_j(a), at_j(b));
      } else {
        throw Error(where + ": its score is not a conjunction of literals and i/j equivalences of literals");
      }
    }
    auto single = [&](const Formula& f, const std::string& what) {
      if (f.kind == Formula::Kind::constant) return constant(f.value);
      if (f.kind == Formula::Kind::literal) return at_j(f.literal);
      throw Error(where + ": its " + what + " must be a literal or a constant");
    };
    const Affine value_j = single(op.value, "value");
    const Affine fallback_i = single(op.fallback, "default");

    const int at = next_slot(std::max({ready_of(op.formula), ready_of(op.value), ready_of(op.fallback)}), true);
    UhatHead head;
    head.mask = op.mask;
    head.tie = op.tie;
    for (const auto& [a, b] : equalities) {
      const Affine q = a.scaled(2, -1), k = b.scaled(2, -1);
      head.query.add_row(q.terms, q.bias);
      head.key.add_row(k.terms, k.bias);
    }
    if (!literals_j.empty()) {
      head.query.add_row({}, 1);
      const Affine k = sum(literals_j, 0);
      head.key.add_row(k.terms, k.bias);
    }
    // What the attended position hands over: its side of each equality and literal, that it
    // exists, and the value.
    std::vector<int32_t> equal_j, literal_j;
    for (const auto& e : equalities) equal_j.push_back(head.value.add_row(e.second.terms, e.second.bias, fresh()));
    for (const Affine& l : literals_j) literal_j.push_back(head.value.add_row(l.terms, l.bias, fresh()));
    const int32_t present = head.value.add_row({{constant_, 1}}, 0, fresh());
    const int32_t value = head.value.add_row(value_j.terms, value_j.bias, fresh());
    auto written = [&](int32_t row) {
      Affine a;
      a.terms = {{head.value.writes[row], 1}};
      return a;
    };
    // Feed-forward 1: the number of score terms the attended position misses.
    UhatSublayer& check = slot(at + 1);
    const int32_t mismatches = fresh();
    std::vector<std::pair<int32_t, int64_t>> count;
    for (size_t e = 0; e < equalities.size(); ++e) {
      const Affine& mine = equalities[e].first;
      const Affine theirs = written(equal_j[e]);
      const Affine d1 = difference(mine, theirs), d2 = difference(theirs, mine);
      count.emplace_back(check.hidden.add_row(d1.terms, d1.bias), 1);
      count.emplace_back(check.hidden.add_row(d2.terms, d2.bias), 1);
    }
    std::vector<Affine> must_hold;
    for (int32_t row : literal_j) must_hold.push_back(written(row));
    must_hold.push_back(written(present));
    for (const Affine& l : literals_i) must_hold.push_back(l);
    for (const Affine& l : must_hold) {
      const Affine missing = l.scaled(-1, 1);  // 1 - l >= 0, so ReLU is the identity on it
      count.emplace_back(check.hidden.add_row(missing.terms, missing.bias), 1);
    }
    check.output.add_row(count, 0, mismatches);
    // Feed-forward 2: P = value if no mismatch, else the default:
    // ReLU(V - m) + D - ReLU(D - m) for 0/1 values V, D and a count m >= 0.
    UhatSublayer& select = slot(at + 3);
    Affine m;
    m.terms = {{mismatches, 1}};
    const Affine v_minus_m = difference(written(value), m), d_minus_m = difference(fallback_i, m);
    const int32_t h1 = select.hidden.add_row(v_minus_m.terms, v_minus_m.bias);
    const int32_t h2 = select.hidden.add_row(d_minus_m.terms, d_minus_m.bias);
    const int32_t h3 = select.hidden.add_row(fallback_i.terms, fallback_i.bias);
    select.output.add_row({{h1, 1}, {h3, 1}, {h2, -1}}, 0, target);
    slot(at).heads.push_back(std::move(head));
    return at + 3;
  }

  const Program& program_;
  Uhat uhat_;
  int32_t width_ = 0, constant_ = 0;
  std::vector<int32_t> coordinate_;  // per B-RASP vector
  std::vector<int> ready_;           // slot after which the vector's coordinate holds it
  std::vector<UhatSublayer> slots_;
};

Uhat Uhat::compile(const Program& program) { return UhatCompiler(program).compile(); }

namespace {

// The position a head attends to from every i: the score's argmax within the mask, ties
// broken by the head's rule; -1 when the mask is empty. Positions with the same key vector
// score alike, so scores are computed once per distinct key.
std::vector<int64_t> attended_positions(const UhatHead& head, const std::vector<int64_t>& x, int width, int64_t length) {
  std::map<std::vector<int64_t>, int32_t> group_of_key;
  std::vector<std::vector<int64_t>> keys;
  std::vector<std::vector<int64_t>> members;  // positions per group, increasing
  const size_t dk = head.key.rows.size();
  for (int64_t j = 0; j < length; ++j) {
    std::vector<int64_t> key(dk);
    for (size_t r = 0; r < dk; ++r) key[r] = head.key.row(r, &x[j * width]);
    const auto [it, added] = group_of_key.emplace(key, static_cast<int32_t>(keys.size()));
    if (added) {
      keys.push_back(key);
      members.emplace_back();
    }
    members[it->second].push_back(j);
  }
  std::vector<int64_t> chosen(length, -1);
  std::vector<int64_t> query(dk);
  const bool rightmost = head.tie == TieBreak::rightmost;
  for (int64_t i = 0; i < length; ++i) {
    for (size_t r = 0; r < dk; ++r) query[r] = head.query.row(r, &x[i * width]);
    bool any = false;
    int64_t best = 0, pick = -1;
    for (size_t g = 0; g < keys.size(); ++g) {
      const auto& pos = members[g];
      // The group's preferred position within the mask, if any.
      int64_t candidate = -1;
      if (head.mask == Mask::all) {
        candidate = rightmost ? pos.back() : pos.front();
      } else if (head.mask == Mask::before) {
        const auto bound = std::lower_bound(pos.begin(), pos.end(), i);  // first >= i
        if (bound != pos.begin()) candidate = rightmost ? *(bound - 1) : pos.front();
      } else {
        const auto bound = std::upper_bound(pos.begin(), pos.end(), i);  // first > i
        if (bound != pos.end()) candidate = rightmost ? pos.back() : *bound;
      }
      if (candidate < 0) continue;
      int64_t score = 0;
      for (size_t r = 0; r < dk; ++r) score += query[r] * keys[g][r];
      if (!any || score > best || (score == best && (rightmost ? candidate > pick : candidate < pick))) {
        best = score;
        pick = candidate;
        any = true;
      }
    }
    chosen[i] = pick;
  }
  return chosen;
}

}  // namespace

bool Uhat::accepts(std::string_view word) const {
  if (word.empty()) return false;
  const int64_t length = static_cast<int64_t>(word.size());
  std::vector<int64_t> x(static_cast<size_t>(length) * width_, 0);
  for (int64_t i = 0; i < length; ++i) {
    const auto s = alphabet_.find(word[i]);
    if (s == std::string::npos) return false;
    for (const auto& [c, w] : embedding_[s]) x[i * width_ + c] = w;
  }
  std::vector<int64_t> hidden;
  for (const UhatSublayer& layer : sublayers_) {
    if (layer.kind == UhatSublayer::Kind::attention) {
      std::vector<std::pair<size_t, int64_t>> updates;  // (flat index, value), applied after all heads read
      for (const UhatHead& head : layer.heads) {
        const std::vector<int64_t> chosen = attended_positions(head, x, width_, length);
        for (int64_t i = 0; i < length; ++i) {
          if (chosen[i] < 0) continue;  // empty mask: the head adds nothing
          for (size_t r = 0; r < head.value.rows.size(); ++r)
            updates.emplace_back(i * width_ + head.value.writes[r], head.value.row(r, &x[chosen[i] * width_]));
        }
      }
      for (const auto& [at, v] : updates) x[at] += v;
    } else {
      hidden.resize(layer.hidden.rows.size());
      for (int64_t i = 0; i < length; ++i) {
        int64_t* row = &x[i * width_];
        for (size_t h = 0; h < hidden.size(); ++h) hidden[h] = std::max<int64_t>(0, layer.hidden.row(h, row));
        for (size_t r = 0; r < layer.output.rows.size(); ++r) row[layer.output.writes[r]] += layer.output.row(r, hidden.data());
      }
    }
  }
  return acceptance_.row(0, &x[(length - 1) * width_]) > 0;
}

UhatSize Uhat::size() const {
  UhatSize s;
  s.width = width_;
  int64_t largest = acceptance_.max_abs();
  s.nonzero_weights = acceptance_.nonzeros();
  for (const auto& e : embedding_) {
    s.nonzero_weights += static_cast<int64_t>(e.size());
    for (const auto& t : e) largest = std::max(largest, t.second < 0 ? -t.second : t.second);
  }
  for (const UhatSublayer& layer : sublayers_) {
    if (layer.kind == UhatSublayer::Kind::attention) {
      ++s.attention_layers;
      for (const UhatHead& head : layer.heads) {
        ++s.heads;
        for (const SparseAffine* m : {&head.query, &head.key, &head.value}) {
          s.nonzero_weights += m->nonzeros();
          largest = std::max(largest, m->max_abs());
        }
      }
    } else {
      ++s.feed_forward_layers;
      s.hidden_units += static_cast<int>(layer.hidden.rows.size());
      for (const SparseAffine* m : {&layer.hidden, &layer.output}) {
        s.nonzero_weights += m->nonzeros();
        largest = std::max(largest, m->max_abs());
      }
    }
  }
  s.largest_weight = largest;
  s.largest_weight_bits = static_cast<int>(std::bit_width(static_cast<uint64_t>(largest)));
  return s;
}

namespace {
Json affine_to_json(const SparseAffine& m) {
  Json rows = Json::array();
  for (size_t r = 0; r < m.rows.size(); ++r) {
    Json row = {{"bias", m.bias[r]}, {"terms", m.rows[r]}};
    if (m.writes[r] >= 0) row["writes"] = m.writes[r];
    rows.push_back(row);
  }
  return rows;
}
}  // namespace

Json Uhat::to_json() const {
  Json embedding = Json::object();
  for (size_t s = 0; s < alphabet_.size(); ++s) embedding[std::string(1, alphabet_[s])] = embedding_[s];
  Json layers = Json::array();
  for (const UhatSublayer& layer : sublayers_) {
    if (layer.kind == UhatSublayer::Kind::attention) {
      Json heads = Json::array();
      for (const UhatHead& head : layer.heads)
        heads.push_back({{"mask", to_string(head.mask)},
                         {"tie", to_string(head.tie)},
                         {"query", affine_to_json(head.query)},
                         {"key", affine_to_json(head.key)},
                         {"value", affine_to_json(head.value)}});
      layers.push_back({{"attention", heads}});
    } else {
      layers.push_back({{"feed_forward", {{"hidden", affine_to_json(layer.hidden)}, {"output", affine_to_json(layer.output)}}}});
    }
  }
  const UhatSize s = size();
  return {{"alphabet", alphabet_},
          {"width", width_},
          {"embedding", embedding},
          {"sublayers", layers},
          {"acceptance", affine_to_json(acceptance_)},
          {"size",
           {{"attention_layers", s.attention_layers},
            {"feed_forward_layers", s.feed_forward_layers},
            {"heads", s.heads},
            {"hidden_units", s.hidden_units},
            {"width", s.width},
            {"nonzero_weights", s.nonzero_weights},
            {"largest_weight", s.largest_weight},
            {"largest_weight_bits", s.largest_weight_bits}}}};
}

}  // namespace garden::succinct
