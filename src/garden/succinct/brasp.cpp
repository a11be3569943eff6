#include "garden/succinct/brasp.h"

#include <fmt/core.h>

#include <algorithm>

#include "garden/core/error.h"

namespace garden::succinct {

Formula Formula::constant_value(bool v) {
  Formula f;
  f.kind = Kind::constant;
  f.value = v;
  return f;
}

Formula Formula::at_i(VectorId v, bool negated) {
  Formula f;
  f.kind = Kind::literal;
  f.literal = {v, negated, false};
  return f;
}

Formula Formula::at_j(VectorId v, bool negated) {
  Formula f = at_i(v, negated);
  f.literal.at_j = true;
  return f;
}

Formula Formula::all(std::vector<Formula> operands) {
  if (operands.size() == 1) return std::move(operands.front());
  Formula f;
  f.kind = Kind::all_of;
  f.operands = std::move(operands);
  return f;
}

Formula Formula::any(std::vector<Formula> operands) {
  if (operands.size() == 1) return std::move(operands.front());
  Formula f;
  f.kind = Kind::any_of;
  f.operands = std::move(operands);
  return f;
}

Formula Formula::iff(Formula a, Formula b) {
  Formula f;
  f.kind = Kind::equivalent;
  f.operands = {std::move(a), std::move(b)};
  return f;
}

Formula Formula::exclusive_or(Formula a, Formula b) { return iff(std::move(a), b.negated()); }

Formula Formula::negated() const {
  switch (kind) {
    case Kind::constant: return constant_value(!value);
    case Kind::literal: {
      Formula f = *this;
      f.literal.negated = !literal.negated;
      return f;
    }
    case Kind::all_of:
    case Kind::any_of: {
      Formula f;
      f.kind = kind == Kind::all_of ? Kind::any_of : Kind::all_of;
      for (const Formula& operand : operands) f.operands.push_back(operand.negated());
      return f;
    }
    case Kind::equivalent: return iff(operands[0], operands[1].negated());
  }
  return *this;
}

int Formula::literal_count() const {
  if (kind == Kind::literal) return 1;
  int count = 0;
  for (const Formula& operand : operands) count += operand.literal_count();
  return count;
}

std::string to_string(Mask mask) {
  switch (mask) {
    case Mask::all: return "all";
    case Mask::before: return "before";
    case Mask::after: return "after";
  }
  return "?";
}

std::string to_string(TieBreak tie) { return tie == TieBreak::leftmost ? "leftmost" : "rightmost"; }

namespace {

// Checks that every literal names an existing vector and is read where it may be.
void check_formula(const Formula& f, VectorId vector_count, bool allow_i, bool allow_j, const std::string& where) {
  if (f.kind == Formula::Kind::literal) {
    if (f.literal.vector < 0 || f.literal.vector >= vector_count)
      throw Error(fmt::format("B-RASP {}: literal refers to vector {} which is not defined before it", where,
                              f.literal.vector));
    if (f.literal.at_j ? !allow_j : !allow_i)
      throw Error(fmt::format("B-RASP {}: a literal is read at {} where only {} is allowed", where,
                              f.literal.at_j ? "j" : "i", allow_j ? "j" : "i"));
  }
  if (f.kind == Formula::Kind::equivalent && f.operands.size() != 2)
    throw Error(fmt::format("B-RASP {}: an equivalence needs exactly two operands", where));
  for (const Formula& operand : f.operands) check_formula(operand, vector_count, allow_i, allow_j, where);
}

}  // namespace

Program::Program(std::string alphabet) : alphabet_(std::move(alphabet)) {
  for (char c : alphabet_) {
    if (std::count(alphabet_.begin(), alphabet_.end(), c) != 1)
      throw Error(fmt::format("B-RASP alphabet '{}' repeats the symbol '{}'", alphabet_, c));
    names_.push_back(std::string("Q_") + c);
  }
}

VectorId Program::symbol(char c) const {
  const auto at = alphabet_.find(c);
  if (at == std::string::npos) throw Error(fmt::format("symbol '{}' is not in the alphabet '{}'", c, alphabet_));
  return static_cast<VectorId>(at);
}

VectorId Program::add(Operation operation) {
  const std::string where = fmt::format("operation '{}'", operation.name);
  if (std::find(names_.begin(), names_.end(), operation.name) != names_.end())
    throw Error(fmt::format("B-RASP {}: the name is already defined", where));
  if (operation.kind == Operation::Kind::formula) {
    check_formula(operation.formula, vector_count(), true, false, where);
  } else {
    check_formula(operation.formula, vector_count(), true, true, where + " score");
    check_formula(operation.value, vector_count(), false, true, where + " value");
    check_formula(operation.fallback, vector_count(), true, false, where + " default");
  }
  names_.push_back(operation.name);
  operations_.push_back(std::move(operation));
  return vector_count() - 1;
}

VectorId Program::add_formula(const std::string& name, Formula formula) {
  Operation op;
  op.kind = Operation::Kind::formula;
  op.name = name;
  op.formula = std::move(formula);
  return add(std::move(op));
}

VectorId Program::add_attention(const std::string& name, Mask mask, TieBreak tie, Formula score, Formula value,
                                Formula fallback) {
  Operation op;
  op.kind = Operation::Kind::attention;
  op.name = name;
  op.mask = mask;
  op.tie = tie;
  op.formula = std::move(score);
  op.value = std::move(value);
  op.fallback = std::move(fallback);
  return add(std::move(op));
}

void Program::set_output(VectorId vector) {
  if (vector < 0 || vector >= vector_count())
    throw Error(fmt::format("B-RASP output vector {} is not defined", vector));
  output_ = vector;
}

int64_t Program::size() const {
  int64_t size = static_cast<int64_t>(operations_.size());
  for (const Operation& op : operations_)
    size += op.formula.literal_count() + op.value.literal_count() + op.fallback.literal_count();
  return size;
}

int Program::attention_count() const {
  return static_cast<int>(std::count_if(operations_.begin(), operations_.end(),
                                        [](const Operation& op) { return op.kind == Operation::Kind::attention; }));
}

// ---- JSON ------------------------------------------------------------------------------

namespace {

Json formula_to_json(const Formula& f, const Program& program) {
  switch (f.kind) {
    case Formula::Kind::constant: return f.value;
    case Formula::Kind::literal: {
      Json lit = {{"var", program.vector_name(f.literal.vector)}};
      if (f.literal.negated) lit["not"] = true;
      if (f.literal.at_j) lit["at"] = "j";
      return lit;
    }
    case Formula::Kind::all_of:
    case Formula::Kind::any_of:
    case Formula::Kind::equivalent: {
      Json operands = Json::array();
      for (const Formula& operand : f.operands) operands.push_back(formula_to_json(operand, program));
      const char* key = f.kind == Formula::Kind::all_of ? "and" : f.kind == Formula::Kind::any_of ? "or" : "iff";
      return Json{{key, operands}};
    }
  }
  return nullptr;
}

// Formulas nest no deeper than this: reading, evaluating and freeing them recurse.
constexpr int kMaxFormulaDepth = 200;

Formula formula_from_json(const Json& json, const std::map<std::string, VectorId>& ids, const std::string& where, int depth = 0) {
  if (depth > kMaxFormulaDepth) throw Error(fmt::format("B-RASP {}: formulas nested deeper than {}", where, kMaxFormulaDepth));
  if (json.is_boolean()) return Formula::constant_value(json.get<bool>());
  if (!json.is_object()) throw Error(fmt::format("B-RASP {}: a formula must be true, false or an object", where));
  if (json.contains("var")) {
    const auto name = json["var"].get<std::string>();
    const auto it = ids.find(name);
    if (it == ids.end()) throw Error(fmt::format("B-RASP {}: unknown vector '{}'", where, name));
    Formula f = Formula::at_i(it->second, json.value("not", false));
    const std::string at = json.value("at", "i");
    if (at != "i" && at != "j") throw Error(fmt::format("B-RASP {}: \"at\" must be \"i\" or \"j\"", where));
    f.literal.at_j = at == "j";
    return f;
  }
  for (const char* key : {"and", "or", "iff"}) {
    if (!json.contains(key)) continue;
    std::vector<Formula> operands;
    for (const Json& operand : json[key]) operands.push_back(formula_from_json(operand, ids, where, depth + 1));
    Formula f;
    f.kind = std::string(key) == "and"  ? Formula::Kind::all_of
             : std::string(key) == "or" ? Formula::Kind::any_of
                                        : Formula::Kind::equivalent;
    f.operands = std::move(operands);
    return f;
  }
  throw Error(fmt::format("B-RASP {}: a formula object needs one of var, and, or, iff", where));
}

Mask mask_from_string(const std::string& s, const std::string& where) {
  if (s == "all") return Mask::all;
  if (s == "before") return Mask::before;
  if (s == "after") return Mask::after;
  throw Error(fmt::format("B-RASP {}: mask '{}' is not all, before or after", where, s));
}

}  // namespace

Json Program::to_json() const {
  Json ops = Json::array();
  for (const Operation& op : operations_) {
    Json o = {{"name", op.name}};
    if (op.kind == Operation::Kind::formula) {
      o["formula"] = formula_to_json(op.formula, *this);
    } else {
      o["attention"] = {{"mask", to_string(op.mask)},
                        {"tie", to_string(op.tie)},
                        {"score", formula_to_json(op.formula, *this)},
                        {"value", formula_to_json(op.value, *this)},
                        {"default", formula_to_json(op.fallback, *this)}};
    }
    ops.push_back(o);
  }
  return {{"alphabet", alphabet_},
          {"operations", ops},
          {"output", output_ >= 0 ? Json(vector_name(output_)) : Json(nullptr)},
          {"size", size()}};
}

Program Program::from_json(const Json& json) {
  if (!json.is_object() || !json.contains("alphabet") || !json.contains("operations"))
    throw Error("B-RASP program JSON needs \"alphabet\" and \"operations\"");
  Program program(json["alphabet"].get<std::string>());
  std::map<std::string, VectorId> ids;
  for (VectorId v = 0; v < program.vector_count(); ++v) ids[program.vector_name(v)] = v;
  for (const Json& o : json["operations"]) {
    const std::string name = o.value("name", "");
    if (name.empty()) throw Error("B-RASP program JSON: an operation has no name");
    const std::string where = fmt::format("operation '{}'", name);
    VectorId id;
    if (o.contains("formula")) {
      id = program.add_formula(name, formula_from_json(o["formula"], ids, where));
    } else if (o.contains("attention")) {
      const Json& a = o["attention"];
      const std::string tie = a.value("tie", "leftmost");
      if (tie != "leftmost" && tie != "rightmost")
        throw Error(fmt::format("B-RASP {}: tie '{}' is not leftmost or rightmost", where, tie));
      id = program.add_attention(name, mask_from_string(a.value("mask", "all"), where),
                                 tie == "leftmost" ? TieBreak::leftmost : TieBreak::rightmost,
                                 formula_from_json(a.value("score", Json(true)), ids, where),
                                 formula_from_json(a.at("value"), ids, where),
                                 formula_from_json(a.value("default", Json(false)), ids, where));
    } else {
      throw Error(fmt::format("B-RASP {}: needs \"formula\" or \"attention\"", where));
    }
    ids[name] = id;
  }
  if (json.contains("output") && !json["output"].is_null()) {
    const auto it = ids.find(json["output"].get<std::string>());
    if (it == ids.end()) throw Error("B-RASP program JSON: the output vector is not defined");
    program.set_output(it->second);
  }
  return program;
}

Program load_program(const std::filesystem::path& path) {
  const Json json = read_json_file(path);
  try {
    return Program::from_json(json);
  } catch (const Error& e) {
    throw Error(path.string() + ": " + e.what(), e.kind());
  } catch (const nlohmann::json::exception& e) {
    // A field of the wrong type or a missing one (nlohmann says which: "type must be string,
    // but is number", "key 'value' not found").
    const std::string what = e.what();
    throw Error(path.string() + ": not a B-RASP program: " + what.substr(what.find(']') + 2));
  }
}

// ---- interpreter -----------------------------------------------------------------------

namespace {

constexpr uint64_t kAll = ~uint64_t{0};

// Evaluates f with literal values from `literal` (a mask over the batch of words).
template <typename LiteralValue>
uint64_t evaluate(const Formula& f, const LiteralValue& literal) {
  switch (f.kind) {
    case Formula::Kind::constant: return f.value ? kAll : 0;
    case Formula::Kind::literal: {
      const uint64_t v = literal(f.literal.vector, f.literal.at_j);
      return f.literal.negated ? ~v : v;
    }
    case Formula::Kind::all_of: {
      uint64_t r = kAll;
      for (const Formula& operand : f.operands) r &= evaluate(operand, literal);
      return r;
    }
    case Formula::Kind::any_of: {
      uint64_t r = 0;
      for (const Formula& operand : f.operands) r |= evaluate(operand, literal);
      return r;
    }
    case Formula::Kind::equivalent: return ~(evaluate(f.operands[0], literal) ^ evaluate(f.operands[1], literal));
  }
  return 0;
}

void collect_vectors_at_i(const Formula& f, std::vector<VectorId>& out) {
  if (f.kind == Formula::Kind::literal && !f.literal.at_j &&
      std::find(out.begin(), out.end(), f.literal.vector) == out.end())
    out.push_back(f.literal.vector);
  for (const Formula& operand : f.operands) collect_vectors_at_i(operand, out);
}

using Values = std::vector<std::vector<uint64_t>>;

// Attention by its definition: for each i, scan the allowed j in order of preference.
void attend_quadratic(const Operation& op, const Values& values, const std::vector<uint64_t>& value_at,
                      const std::vector<uint64_t>& fallback_at, std::vector<uint64_t>& out) {
  const int64_t length = static_cast<int64_t>(out.size());
  for (int64_t i = 0; i < length; ++i) {
    int64_t begin = 0, end = length;  // candidate range [begin, end)
    if (op.mask == Mask::before) end = i;
    if (op.mask == Mask::after) begin = i + 1;
    const bool forward = op.tie == TieBreak::leftmost;
    uint64_t have = 0, result = 0;
    for (int64_t step = 0; step < end - begin && have != kAll; ++step) {
      const int64_t j = forward ? begin + step : end - 1 - step;
      const uint64_t s = evaluate(op.formula, [&](VectorId v, bool at_j) { return values[v][at_j ? j : i]; }) & ~have;
      result |= s & value_at[j];
      have |= s;
    }
    out[i] = result | (~have & fallback_at[i]);
  }
}

// Attention in one sweep per assignment of the score's vectors at i: with those fixed, the
// score is a predicate of j alone, and "the preferred j in the mask" is a running state.
void attend_sweep(const Operation& op, const std::vector<VectorId>& vars_at_i, const Values& values,
                  const std::vector<uint64_t>& value_at, const std::vector<uint64_t>& fallback_at,
                  std::vector<uint64_t>& out) {
  const int64_t length = static_cast<int64_t>(out.size());
  std::fill(out.begin(), out.end(), 0);
  // A sweep visits candidates nearest-last; keep_first keeps the first one it saw.
  const bool forward = op.mask != Mask::after;
  const bool keep_first = (op.mask == Mask::after) == (op.tie == TieBreak::rightmost);
  std::vector<uint64_t> score(length);
  const int m = static_cast<int>(vars_at_i.size());
  for (uint64_t assignment = 0; assignment < (uint64_t{1} << m); ++assignment) {
    auto bit_of = [&](VectorId v) {
      const auto k = std::find(vars_at_i.begin(), vars_at_i.end(), v) - vars_at_i.begin();
      return ((assignment >> k) & 1) ? kAll : uint64_t{0};
    };
    // Which words have this assignment at i.
    auto matches_at = [&](int64_t i) {
      uint64_t match = kAll;
      for (int k = 0; k < m; ++k) match &= ((assignment >> k) & 1) ? values[vars_at_i[k]][i] : ~values[vars_at_i[k]][i];
      return match;
    };
    bool any_match = false;
    for (int64_t i = 0; i < length && !any_match; ++i) any_match = matches_at(i) != 0;
    if (!any_match) continue;
    for (int64_t j = 0; j < length; ++j)
      score[j] = evaluate(op.formula, [&](VectorId v, bool at_j) { return at_j ? values[v][j] : bit_of(v); });
    uint64_t have = 0, current = 0;
    auto take = [&](int64_t j) {
      const uint64_t s = score[j];
      if (keep_first) {
        current |= s & ~have & value_at[j];
      } else {
        current = (s & value_at[j]) | (~s & current);
      }
      have |= s;
    };
    auto answer = [&](int64_t i) { out[i] |= matches_at(i) & ((have & current) | (~have & fallback_at[i])); };
    if (op.mask == Mask::all) {
      for (int64_t j = 0; j < length; ++j) take(j);
      for (int64_t i = 0; i < length; ++i) answer(i);
    } else if (forward) {
      for (int64_t i = 0; i < length; ++i) {
        answer(i);
        take(i);
      }
    } else {
      for (int64_t i = length - 1; i >= 0; --i) {
        answer(i);
        take(i);
      }
    }
  }
}

}  // namespace

Interpreter::Interpreter(const Program& program) : program_(program) {
  std::fill(std::begin(symbol_index_), std::end(symbol_index_), -1);
  for (size_t s = 0; s < program.alphabet().size(); ++s)
    symbol_index_[static_cast<unsigned char>(program.alphabet()[s])] = static_cast<int>(s);
}

std::vector<std::vector<uint64_t>> Interpreter::run(const std::vector<std::string_view>& words) const {
  if (words.empty() || words.size() > 64) throw Error("B-RASP interpreter: a batch holds 1 to 64 words");
  const size_t length = words.front().size();
  Values values(program_.vector_count(), std::vector<uint64_t>(length, 0));
  for (size_t w = 0; w < words.size(); ++w) {
    if (words[w].size() != length) throw Error("B-RASP interpreter: the words of a batch must have one length");
    for (size_t i = 0; i < length; ++i) {
      const int s = symbol_index_[static_cast<unsigned char>(words[w][i])];
      if (s < 0)
        throw Error(fmt::format("B-RASP interpreter: symbol '{}' of word {} is not in the alphabet '{}'",
                                words[w][i], w, program_.alphabet()));
      values[s][i] |= uint64_t{1} << w;
    }
  }
  std::vector<uint64_t> value_at(length), fallback_at(length);
  VectorId id = static_cast<VectorId>(program_.alphabet().size());
  for (const Operation& op : program_.operations()) {
    std::vector<uint64_t>& out = values[id++];
    if (op.kind == Operation::Kind::formula) {
      for (size_t i = 0; i < length; ++i)
        out[i] = evaluate(op.formula, [&](VectorId v, bool) { return values[v][i]; });
      continue;
    }
    for (size_t p = 0; p < length; ++p) {
      value_at[p] = evaluate(op.value, [&](VectorId v, bool) { return values[v][p]; });
      fallback_at[p] = evaluate(op.fallback, [&](VectorId v, bool) { return values[v][p]; });
    }
    std::vector<VectorId> vars_at_i;
    collect_vectors_at_i(op.formula, vars_at_i);
    if (static_cast<int>(vars_at_i.size()) <= kMaxScoreVariablesAtI) {
      attend_sweep(op, vars_at_i, values, value_at, fallback_at, out);
    } else {
      attend_quadratic(op, values, value_at, fallback_at, out);
    }
  }
  return values;
}

uint64_t Interpreter::accepts_batch(const std::vector<std::string_view>& words) const {
  if (program_.output() < 0) throw Error("B-RASP program has no output vector");
  const uint64_t batch = words.size() >= 64 ? kAll : (uint64_t{1} << words.size()) - 1;
  if (!words.empty() && words.front().empty()) {
    for (const auto& w : words)
      if (!w.empty()) throw Error("B-RASP interpreter: the words of a batch must have one length");
    return 0;  // the empty word has no output position
  }
  const Values values = run(words);
  return values[program_.output()].back() & batch;
}

bool Interpreter::accepts(std::string_view word) const { return accepts_batch({word}) & 1; }

std::vector<std::vector<bool>> Interpreter::trace(std::string_view word) const {
  if (word.empty()) return std::vector<std::vector<bool>>(program_.vector_count());
  const Values values = run({word});
  std::vector<std::vector<bool>> trace(values.size());
  for (size_t v = 0; v < values.size(); ++v)
    for (uint64_t bits : values[v]) trace[v].push_back(bits & 1);
  return trace;
}

}  // namespace garden::succinct
