// The four open-ended tasks of "Roll the dice & look before you leap" (Nagarajan et al., ICML
// 2025, arXiv:2504.15266; spec: ../papers/roll-the-dice.md), generated as the official
// notebooks do, with the checkers that score a model's outputs:
//   sibling discovery   hash <q> b1 b2 a </a>                b1, b2 a first and a second child of a
//   triangle discovery  hash tri: u v <sep> v w <sep> w u </a>   a triangle of a hidden graph
//                       edge: u v <sep> v u </a>             the graph's edge facts (no hash)
//   circle construction hash <q> e1 <sep> ... <sep> ek </a>  the k edges of a cycle, shuffled
//   line construction   hash <q> e1 <sep> ... <sep> ek </a>  the k edges of a path, shuffled
// Every entity is one token; a hash is H characters of [a-z0-9], one token each, unique over
// the training and test examples. Torch-free: generators, checkers and the token vocabulary.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "garden/core/json.h"

namespace garden::text::creative {

enum class Task { sibling, triangle, circle, line };
Task parse_task(const std::string& name);  // usage error naming the choices
std::string to_string(Task task);

// Token ids: the specials, the 36 hash characters, then the entities.
struct Vocab {
  static constexpr int64_t kDummy = 0;  // "$": the teacherless objective's input and padding
  static constexpr int64_t kEnd = 1;    // "</a>"
  static constexpr int64_t kQuery = 2;  // "<q>"
  static constexpr int64_t kSep = 3;    // "<sep>"
  static constexpr int64_t kTriangle = 4;  // "tri:"
  static constexpr int64_t kEdge = 5;      // "edge:"
  static constexpr int64_t kMask = 6;      // "<mask>": masked diffusion's absorbing state
  static constexpr int64_t kHashBase = 7;  // hash characters a..z then 0..9
  static constexpr int64_t kEntityBase = kHashBase + 36;
  int64_t entities = 0;
  int64_t size() const { return kEntityBase + entities; }
  int64_t entity(int64_t i) const { return kEntityBase + i; }
  bool is_entity(int64_t id) const { return id >= kEntityBase && id < size(); }
  std::vector<int64_t> hash_tokens(const std::string& hash) const;
  // "<a_12>", "<sep>", a hash character...
  std::string token_text(int64_t id) const;
  // Space-separated token texts (hash characters are written together as one word).
  std::string text(const std::vector<int64_t>& ids) const;
  // The inverse of text(); throws garden::Error naming the unknown word.
  std::vector<int64_t> parse(const std::string& text) const;
};

// One training example: its hash ("" for a triangle task's edge fact), its prompt marker
// (<q>, tri: or edge:) and its answer tokens (without </a>).
struct Example {
  std::string hash;
  int64_t marker = Vocab::kQuery;
  std::vector<int64_t> answer;
};

struct TaskOptions {
  Task task = Task::sibling;
  int64_t train_examples = 2000;
  int64_t test_prompts = 1024;
  int64_t hash_length = 6;
  // sibling: parents and children per slot; held-out share of the triplets.
  int64_t parents = 5, children = 80;
  double held_out_share = 0.005;
  // triangle: vertices, minimum degree, triangles per vertex, share of triangle samples.
  int64_t vertices = 999, degree = 3, triangles = 6;
  double triangle_share = 1.0 / 3.0;
  // circle / line: entities and vertices per cycle or path.
  int64_t circle_entities = 10, circle_vertices = 9;
  int64_t line_entities = 12, line_vertices = 10;
  uint64_t seed = 0;
  void validate() const;  // usage errors naming the option
  Json to_json() const;
  static TaskOptions from_json(const Json& json, const std::string& where);
};

// A generated task: the training examples, the fresh test hashes, and what the checkers need
// (the sibling parents and slots, the triangle graph, the held-out sibling triplets).
struct TaskData {
  TaskOptions options;
  Vocab vocab;
  std::vector<Example> train;
  std::vector<std::string> test_hashes;
  std::vector<int64_t> parent_of;  // sibling: entity -> its parent, or -1 for a parent
  std::vector<int> slot_of;        // sibling: 1 or 2 for a child, 0 for a parent
  std::set<std::pair<int64_t, int64_t>> edges;  // triangle: (u, v) with u < v, entity indices
  std::vector<std::vector<int64_t>> held_out;   // sibling: triplets never trained on (tokens)
  // The prompt marker test prompts use and the answer length of every coherent answer (a
  // masked-diffusion sampler fills exactly that many positions).
  int64_t test_marker() const;
  int64_t answer_length() const;
};

TaskData generate(const TaskOptions& options);

// One generation: the tokens before </a>, and whether </a> came (an unfinished one is never
// coherent).
struct Output {
  std::vector<int64_t> answer;
  bool ended = false;
};

// Whether an answer (tokens before </a>) satisfies the task's definition.
bool coherent(const TaskData& data, const std::vector<int64_t>& answer);
// The key under which an answer counts as memorised: sibling, the answer itself; triangle,
// its sorted vertex set; circle and line, the canonical form (vertices renamed 0, 1, 2, ... in
// order of first appearance, edge order kept, as the official evaluation does).
std::string memory_key(const TaskData& data, const std::vector<int64_t>& answer);
std::vector<int64_t> canonical_form(const Vocab& vocab, const std::vector<int64_t>& answer);
// The keys of every training example that counts (a triangle task's edge facts do not).
std::set<std::string> memory_set(const TaskData& data);

// A task folder: task.json (the options), train.jsonl ({"prompt", "answer"} rows in token
// text) and test.jsonl ({"prompt"} rows). Generation is deterministic, so read_task
// regenerates the task and its checkers from task.json.
void write_task(const TaskData& data, const std::string& folder);
TaskData read_task(const std::string& folder);

}  // namespace garden::text::creative
