#include "garden/text/creative_tasks.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <numeric>
#include <random>
#include <sstream>

#include "garden/core/error.h"
#include "garden/core/files.h"

namespace garden::text::creative {

namespace {

const char kHashAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";

int64_t draw(std::mt19937_64& rng, int64_t n) { return std::uniform_int_distribution<int64_t>(0, n - 1)(rng); }

std::string draw_hash(std::mt19937_64& rng, int64_t length, std::set<std::string>& used) {
  for (;;) {
    std::string h;
    for (int64_t i = 0; i < length; ++i) h += kHashAlphabet[draw(rng, 36)];
    if (used.insert(h).second) return h;
  }
}

// An answer of k edges "x y <sep> x y <sep> ...", parsed into entity-index pairs; false when
// malformed.
bool parse_edges(const Vocab& vocab, const std::vector<int64_t>& answer, std::vector<std::pair<int64_t, int64_t>>& edges) {
  edges.clear();
  if ((answer.size() + 1) % 3 != 0) return false;
  for (size_t i = 0; i < answer.size(); i += 3) {
    if (!vocab.is_entity(answer[i]) || !vocab.is_entity(answer[i + 1])) return false;
    if (i + 2 < answer.size() && answer[i + 2] != Vocab::kSep) return false;
    edges.emplace_back(answer[i] - Vocab::kEntityBase, answer[i + 1] - Vocab::kEntityBase);
  }
  return true;
}

// Whether the edges are one simple cycle (closed) or one simple path (!closed) through
// exactly `vertices` vertices, each edge once.
bool one_cycle_or_path(const std::vector<std::pair<int64_t, int64_t>>& edges, int64_t vertices, bool closed) {
  std::map<int64_t, std::vector<int64_t>> adjacent;
  std::set<std::pair<int64_t, int64_t>> seen;
  for (const auto& [a, b] : edges) {
    if (a == b) return false;
    if (!seen.insert({std::min(a, b), std::max(a, b)}).second) return false;
    adjacent[a].push_back(b);
    adjacent[b].push_back(a);
  }
  if (static_cast<int64_t>(adjacent.size()) != vertices) return false;
  int64_t ends = 0;
  for (const auto& [v, next] : adjacent) {
    if (next.size() == 1) ++ends;
    else if (next.size() != 2) return false;
  }
  if (ends != (closed ? 0 : 2)) return false;
  // Connected: a walk from one vertex reaches all.
  std::set<int64_t> reached{adjacent.begin()->first};
  std::vector<int64_t> stack{adjacent.begin()->first};
  while (!stack.empty()) {
    const int64_t v = stack.back();
    stack.pop_back();
    for (const int64_t w : adjacent[v])
      if (reached.insert(w).second) stack.push_back(w);
  }
  return static_cast<int64_t>(reached.size()) == vertices;
}

std::string join_ids(const std::vector<int64_t>& ids) {
  std::string s;
  for (const int64_t id : ids) s += fmt::format("{} ", id);
  return s;
}

void generate_sibling(TaskData& d, std::mt19937_64& rng) {
  const auto& o = d.options;
  d.vocab.entities = o.parents + 2 * o.parents * o.children;
  d.parent_of.assign(static_cast<size_t>(d.vocab.entities), -1);
  d.slot_of.assign(static_cast<size_t>(d.vocab.entities), 0);
  const auto child = [&](int64_t parent, int slot, int64_t i) { return o.parents + (parent * 2 + (slot - 1)) * o.children + i; };
  for (int64_t a = 0; a < o.parents; ++a)
    for (int slot = 1; slot <= 2; ++slot)
      for (int64_t i = 0; i < o.children; ++i) {
        d.parent_of[static_cast<size_t>(child(a, slot, i))] = a;
        d.slot_of[static_cast<size_t>(child(a, slot, i))] = slot;
      }
  // Triplet t = (a, i, j) numbered a*m*m + i*m + j; a share of them is held out.
  const int64_t triplets = o.parents * o.children * o.children;
  const auto triplet = [&](int64_t t) {
    const int64_t a = t / (o.children * o.children), i = t / o.children % o.children, j = t % o.children;
    return std::vector<int64_t>{d.vocab.entity(child(a, 1, i)), d.vocab.entity(child(a, 2, j)), d.vocab.entity(a)};
  };
  std::set<int64_t> held;
  const auto held_count = static_cast<int64_t>(std::llround(o.held_out_share * static_cast<double>(triplets)));
  while (static_cast<int64_t>(held.size()) < held_count) held.insert(draw(rng, triplets));
  for (const int64_t t : held) d.held_out.push_back(triplet(t));
  if (o.train_examples > triplets - held_count)
    usage_error(fmt::format("sibling: --train {} exceeds the {} triplets that are not held out", o.train_examples, triplets - held_count));
  std::set<int64_t> taken;
  std::set<std::string> hashes;
  while (static_cast<int64_t>(d.train.size()) < o.train_examples) {
    const int64_t t = draw(rng, triplets);
    if (held.count(t) || !taken.insert(t).second) continue;
    d.train.push_back({draw_hash(rng, o.hash_length, hashes), Vocab::kQuery, triplet(t)});
  }
  for (int64_t i = 0; i < o.test_prompts; ++i) d.test_hashes.push_back(draw_hash(rng, o.hash_length, hashes));
}

void generate_triangle(TaskData& d, std::mt19937_64& rng) {
  const auto& o = d.options;
  const int64_t n = o.vertices;
  d.vocab.entities = n;
  std::vector<std::set<int64_t>> adjacent(static_cast<size_t>(n));
  const auto add_edge = [&](int64_t u, int64_t v) {
    adjacent[static_cast<size_t>(u)].insert(v);
    adjacent[static_cast<size_t>(v)].insert(u);
  };
  const auto degree = [&](int64_t v) { return static_cast<int64_t>(adjacent[static_cast<size_t>(v)].size()); };
  // Every vertex gets degree >= D from partners whose degree is at most 1.2 D.
  for (int64_t v = 0; v < n; ++v)
    for (int attempts = 0; degree(v) < o.degree && attempts < 10000; ++attempts) {
      const int64_t u = draw(rng, n);
      if (u != v && !adjacent[static_cast<size_t>(v)].count(u) && static_cast<double>(degree(u)) <= 1.2 * static_cast<double>(o.degree))
        add_edge(u, v);
    }
  // Then triangles: close two neighbours of u until u takes part in T triangles (a triangle
  // counts for each of its three vertices).
  std::vector<int64_t> in_triangles(static_cast<size_t>(n), 0);
  for (int64_t u = 0; u < n; ++u)
    for (int attempts = 0; in_triangles[static_cast<size_t>(u)] < o.triangles && attempts < 200; ++attempts) {
      std::vector<int64_t> nb(adjacent[static_cast<size_t>(u)].begin(), adjacent[static_cast<size_t>(u)].end());
      if (nb.size() < 2) break;
      const int64_t v = nb[static_cast<size_t>(draw(rng, static_cast<int64_t>(nb.size())))];
      const int64_t w = nb[static_cast<size_t>(draw(rng, static_cast<int64_t>(nb.size())))];
      if (v == w || adjacent[static_cast<size_t>(v)].count(w)) continue;
      // The new edge v-w closes a triangle with every common neighbour of v and w.
      for (const int64_t x : adjacent[static_cast<size_t>(v)])
        if (adjacent[static_cast<size_t>(w)].count(x)) {
          ++in_triangles[static_cast<size_t>(x)];
          ++in_triangles[static_cast<size_t>(v)];
          ++in_triangles[static_cast<size_t>(w)];
        }
      add_edge(v, w);
    }
  for (int64_t u = 0; u < n; ++u)
    for (const int64_t v : adjacent[static_cast<size_t>(u)])
      if (u < v) d.edges.insert({u, v});
  std::set<std::string> hashes;
  const auto e = [&](int64_t i) { return d.vocab.entity(i); };
  while (static_cast<int64_t>(d.train.size()) < o.train_examples) {
    const int64_t u = draw(rng, n);
    const std::vector<int64_t> nb(adjacent[static_cast<size_t>(u)].begin(), adjacent[static_cast<size_t>(u)].end());
    if (nb.empty()) continue;
    if (std::uniform_real_distribution<double>(0, 1)(rng) < o.triangle_share) {
      if (in_triangles[static_cast<size_t>(u)] == 0) continue;
      for (int attempts = 0; attempts < 1000; ++attempts) {
        const int64_t v = nb[static_cast<size_t>(draw(rng, static_cast<int64_t>(nb.size())))];
        const int64_t w = nb[static_cast<size_t>(draw(rng, static_cast<int64_t>(nb.size())))];
        if (v == w || !adjacent[static_cast<size_t>(v)].count(w)) continue;
        d.train.push_back({draw_hash(rng, o.hash_length, hashes), Vocab::kTriangle, {e(u), e(v), Vocab::kSep, e(v), e(w), Vocab::kSep, e(w), e(u)}});
        break;
      }
    } else {
      const int64_t v = nb[static_cast<size_t>(draw(rng, static_cast<int64_t>(nb.size())))];
      d.train.push_back({"", Vocab::kEdge, {e(u), e(v), Vocab::kSep, e(v), e(u)}});
    }
  }
  for (int64_t i = 0; i < o.test_prompts; ++i) d.test_hashes.push_back(draw_hash(rng, o.hash_length, hashes));
}

void generate_walks(TaskData& d, std::mt19937_64& rng, bool closed) {
  const auto& o = d.options;
  const int64_t entities = closed ? o.circle_entities : o.line_entities;
  const int64_t k = closed ? o.circle_vertices : o.line_vertices;
  d.vocab.entities = entities;
  std::set<std::string> hashes;
  std::vector<int64_t> order(static_cast<size_t>(entities));
  for (int64_t x = 0; x < o.train_examples; ++x) {
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    std::vector<std::vector<int64_t>> edges;
    for (int64_t i = 0; i + 1 < k; ++i) edges.push_back({d.vocab.entity(order[static_cast<size_t>(i)]), d.vocab.entity(order[static_cast<size_t>(i + 1)])});
    if (closed) edges.push_back({d.vocab.entity(order[static_cast<size_t>(k - 1)]), d.vocab.entity(order[0])});
    std::shuffle(edges.begin(), edges.end(), rng);
    Example ex{draw_hash(rng, o.hash_length, hashes), Vocab::kQuery, {}};
    for (size_t i = 0; i < edges.size(); ++i) {
      if (i) ex.answer.push_back(Vocab::kSep);
      ex.answer.insert(ex.answer.end(), edges[i].begin(), edges[i].end());
    }
    d.train.push_back(std::move(ex));
  }
  for (int64_t i = 0; i < o.test_prompts; ++i) d.test_hashes.push_back(draw_hash(rng, o.hash_length, hashes));
}

}  // namespace

Task parse_task(const std::string& name) {
  if (name == "sibling") return Task::sibling;
  if (name == "triangle") return Task::triangle;
  if (name == "circle") return Task::circle;
  if (name == "line") return Task::line;
  usage_error(fmt::format("unknown creative task '{}' (sibling, triangle, circle or line)", name));
}

std::string to_string(Task task) {
  switch (task) {
    case Task::sibling: return "sibling";
    case Task::triangle: return "triangle";
    case Task::circle: return "circle";
    case Task::line: return "line";
  }
  return "?";
}

std::vector<int64_t> Vocab::hash_tokens(const std::string& hash) const {
  std::vector<int64_t> ids;
  for (const char c : hash) {
    const char* at = std::char_traits<char>::find(kHashAlphabet, 36, c);
    if (!at) throw Error(fmt::format("hash '{}': character '{}' is not in [a-z0-9]", hash, c));
    ids.push_back(kHashBase + (at - kHashAlphabet));
  }
  return ids;
}

std::string Vocab::token_text(int64_t id) const {
  switch (id) {
    case kDummy: return "$";
    case kEnd: return "</a>";
    case kQuery: return "<q>";
    case kSep: return "<sep>";
    case kTriangle: return "tri:";
    case kEdge: return "edge:";
    case kMask: return "<mask>";
    default: break;
  }
  if (id >= kHashBase && id < kEntityBase) return std::string(1, kHashAlphabet[id - kHashBase]);
  if (is_entity(id)) return fmt::format("<a_{}>", id - kEntityBase);
  throw Error(fmt::format("token id {} outside the vocabulary of {}", id, size()));
}

std::string Vocab::text(const std::vector<int64_t>& ids) const {
  std::string s;
  bool in_hash = false;
  for (const int64_t id : ids) {
    const bool hash_char = id >= kHashBase && id < kEntityBase;
    if (!s.empty() && !(hash_char && in_hash)) s += ' ';
    s += token_text(id);
    in_hash = hash_char;
  }
  return s;
}

std::vector<int64_t> Vocab::parse(const std::string& text) const {
  std::vector<int64_t> ids;
  std::istringstream words(text);
  std::string w;
  while (words >> w) {
    bool special = false;
    for (int64_t id = kDummy; id < kHashBase; ++id)
      if (w == token_text(id)) {
        ids.push_back(id);
        special = true;
      }
    if (special) continue;
    if (w.size() > 4 && w.rfind("<a_", 0) == 0 && w.back() == '>') {
      const std::string digits = w.substr(3, w.size() - 4);
      if (!digits.empty() && std::all_of(digits.begin(), digits.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
        const int64_t i = std::stoll(digits);
        if (i < entities) {
          ids.push_back(entity(i));
          continue;
        }
      }
      throw Error(fmt::format("'{}' is not one of the {} entities", w, entities));
    }
    const auto hash = hash_tokens(w);  // throws naming the word
    ids.insert(ids.end(), hash.begin(), hash.end());
  }
  return ids;
}

void TaskOptions::validate() const {
  const auto positive = [](int64_t v, const char* name) {
    if (v < 1) usage_error(fmt::format("{} must be >= 1, got {}", name, v));
  };
  positive(train_examples, "--train");
  positive(test_prompts, "--test");
  positive(hash_length, "--hash-length");
  // Hashes are drawn until unused: a space at least twice the examples keeps that quick (and
  // finite).
  if (std::pow(36.0, static_cast<double>(hash_length)) < 2.0 * static_cast<double>(train_examples + test_prompts))
    usage_error(fmt::format("--hash-length {} has too few distinct hashes for {} examples (36^{} must be at least twice that)", hash_length,
                            train_examples + test_prompts, hash_length));
  positive(parents, "--parents");
  positive(children, "--children");
  if (held_out_share < 0 || held_out_share >= 1) usage_error(fmt::format("--held-out {} must be in [0, 1)", held_out_share));
  if (vertices < 4) usage_error(fmt::format("--vertices {} must be >= 4", vertices));
  positive(degree, "--degree");
  if (circle_vertices < 3 || circle_vertices > circle_entities)
    usage_error(fmt::format("--cycle-vertices {} must be in 3..{} (the entities)", circle_vertices, circle_entities));
  if (line_vertices < 2 || line_vertices > line_entities)
    usage_error(fmt::format("--line-vertices {} must be in 2..{} (the entities)", line_vertices, line_entities));
}

Json TaskOptions::to_json() const {
  return {{"task", to_string(task)}, {"train_examples", train_examples}, {"test_prompts", test_prompts}, {"hash_length", hash_length},
          {"parents", parents}, {"children", children}, {"held_out_share", held_out_share}, {"vertices", vertices}, {"degree", degree},
          {"triangles", triangles}, {"triangle_share", triangle_share}, {"circle_entities", circle_entities},
          {"circle_vertices", circle_vertices}, {"line_entities", line_entities}, {"line_vertices", line_vertices}, {"seed", seed}};
}

TaskOptions TaskOptions::from_json(const Json& json, const std::string& where) {
  TaskOptions o;
  try {
    o.task = parse_task(json.at("task").get<std::string>());
    o.train_examples = json.at("train_examples").get<int64_t>();
    o.test_prompts = json.at("test_prompts").get<int64_t>();
    o.hash_length = json.at("hash_length").get<int64_t>();
    o.parents = json.at("parents").get<int64_t>();
    o.children = json.at("children").get<int64_t>();
    o.held_out_share = json.at("held_out_share").get<double>();
    o.vertices = json.at("vertices").get<int64_t>();
    o.degree = json.at("degree").get<int64_t>();
    o.triangles = json.at("triangles").get<int64_t>();
    o.triangle_share = json.at("triangle_share").get<double>();
    o.circle_entities = json.at("circle_entities").get<int64_t>();
    o.circle_vertices = json.at("circle_vertices").get<int64_t>();
    o.line_entities = json.at("line_entities").get<int64_t>();
    o.line_vertices = json.at("line_vertices").get<int64_t>();
    o.seed = json.at("seed").get<uint64_t>();
  } catch (const Json::exception& e) {
    throw Error(fmt::format("{}: not a creative task description ({})", where, e.what()));
  }
  return o;
}

int64_t TaskData::test_marker() const { return options.task == Task::triangle ? Vocab::kTriangle : Vocab::kQuery; }

int64_t TaskData::answer_length() const {
  switch (options.task) {
    case Task::sibling: return 3;
    case Task::triangle: return 8;
    case Task::circle: return 3 * options.circle_vertices - 1;
    case Task::line: return 3 * (options.line_vertices - 1) - 1;
  }
  return 0;
}

TaskData generate(const TaskOptions& options) {
  options.validate();
  TaskData d;
  d.options = options;
  std::mt19937_64 rng(options.seed * 1000003 + 17);
  switch (options.task) {
    case Task::sibling: generate_sibling(d, rng); break;
    case Task::triangle: generate_triangle(d, rng); break;
    case Task::circle: generate_walks(d, rng, true); break;
    case Task::line: generate_walks(d, rng, false); break;
  }
  return d;
}

bool coherent(const TaskData& data, const std::vector<int64_t>& answer) {
  const Vocab& v = data.vocab;
  switch (data.options.task) {
    case Task::sibling: {
      if (answer.size() != 3 || !v.is_entity(answer[0]) || !v.is_entity(answer[1]) || !v.is_entity(answer[2])) return false;
      const auto at = [&](int64_t id) { return static_cast<size_t>(id - Vocab::kEntityBase); };
      const int64_t a = answer[2] - Vocab::kEntityBase;
      return data.slot_of[at(answer[2])] == 0 && data.slot_of[at(answer[0])] == 1 && data.slot_of[at(answer[1])] == 2 &&
             data.parent_of[at(answer[0])] == a && data.parent_of[at(answer[1])] == a;
    }
    case Task::triangle: {
      std::vector<std::pair<int64_t, int64_t>> edges;
      if (!parse_edges(v, answer, edges) || edges.size() != 3) return false;
      // u v, v w, w u: a closed walk over three distinct vertices along existing edges.
      const int64_t u = edges[0].first, x = edges[0].second, w = edges[1].second;
      if (edges[1].first != x || edges[2].first != w || edges[2].second != u) return false;
      if (u == x || x == w || w == u) return false;
      for (const auto& [a, b] : edges)
        if (!data.edges.count({std::min(a, b), std::max(a, b)})) return false;
      return true;
    }
    case Task::circle:
    case Task::line: {
      const bool closed = data.options.task == Task::circle;
      const int64_t k = closed ? data.options.circle_vertices : data.options.line_vertices;
      std::vector<std::pair<int64_t, int64_t>> edges;
      if (!parse_edges(v, answer, edges) || static_cast<int64_t>(edges.size()) != (closed ? k : k - 1)) return false;
      return one_cycle_or_path(edges, k, closed);
    }
  }
  return false;
}

std::vector<int64_t> canonical_form(const Vocab& vocab, const std::vector<int64_t>& answer) {
  std::map<int64_t, int64_t> renamed;
  std::vector<int64_t> out;
  for (const int64_t id : answer) {
    if (!vocab.is_entity(id)) {
      out.push_back(id);
      continue;
    }
    const auto it = renamed.emplace(id, static_cast<int64_t>(renamed.size())).first;
    out.push_back(vocab.entity(it->second));
  }
  return out;
}

std::string memory_key(const TaskData& data, const std::vector<int64_t>& answer) {
  switch (data.options.task) {
    case Task::sibling: return join_ids(answer);
    case Task::triangle: {
      std::vector<int64_t> vertices;
      for (const int64_t id : answer)
        if (data.vocab.is_entity(id) && std::find(vertices.begin(), vertices.end(), id) == vertices.end()) vertices.push_back(id);
      std::sort(vertices.begin(), vertices.end());
      return join_ids(vertices);
    }
    case Task::circle:
    case Task::line: return join_ids(canonical_form(data.vocab, answer));
  }
  return {};
}

std::set<std::string> memory_set(const TaskData& data) {
  std::set<std::string> keys;
  for (const auto& ex : data.train)
    if (ex.marker != Vocab::kEdge) keys.insert(memory_key(data, ex.answer));
  return keys;
}

void write_task(const TaskData& data, const std::string& folder) {
  std::filesystem::create_directories(folder);
  std::string train, test;
  for (const auto& ex : data.train) {
    std::vector<int64_t> prompt = data.vocab.hash_tokens(ex.hash);
    prompt.push_back(ex.marker);
    train += Json{{"prompt", data.vocab.text(prompt)}, {"answer", data.vocab.text(ex.answer)}}.dump() + "\n";
  }
  for (const auto& h : data.test_hashes) {
    std::vector<int64_t> prompt = data.vocab.hash_tokens(h);
    prompt.push_back(data.test_marker());
    test += Json{{"prompt", data.vocab.text(prompt)}}.dump() + "\n";
  }
  write_file_atomic(std::filesystem::path(folder) / "train.jsonl", train);
  write_file_atomic(std::filesystem::path(folder) / "test.jsonl", test);
  write_json_atomic(std::filesystem::path(folder) / "task.json", data.options.to_json());
}

TaskData read_task(const std::string& folder) {
  const auto path = std::filesystem::path(folder) / "task.json";
  if (!std::filesystem::exists(path)) throw Error(fmt::format("{}: no task.json (garden creative generate writes one)", folder));
  return generate(TaskOptions::from_json(read_json_file(path), path.string()));
}

}  // namespace garden::text::creative
