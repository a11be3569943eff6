// The open-ended tasks of "Roll the dice" (text/creative_tasks.h): every generated example is
// coherent under its own checker, hashes are unique, held-out triplets are never trained on,
// the checkers reject hand-made wrong answers, and the circle canonicaliser follows the
// official definition (exhaustively over the permutations of a small cycle's names).
#include "garden/text/creative_tasks.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>

#include "garden/core/error.h"

namespace garden::text::creative {
namespace {

TaskOptions small(Task task) {
  TaskOptions o;
  o.task = task;
  o.train_examples = 300;
  o.test_prompts = 100;
  o.parents = 3;
  o.children = 12;
  o.held_out_share = 0.05;
  o.vertices = 60;
  o.seed = 4;
  return o;
}

// "<a_i> <a_j> <sep> ..." from entity indices (-1 = <sep>).
std::vector<int64_t> answer(const Vocab& v, const std::vector<int64_t>& items) {
  std::vector<int64_t> ids;
  for (const int64_t i : items) ids.push_back(i < 0 ? Vocab::kSep : v.entity(i));
  return ids;
}

TEST(CreativeTasks, EveryTrainingExampleIsCoherentAndEveryHashUnique) {
  for (const Task task : {Task::sibling, Task::triangle, Task::circle, Task::line}) {
    const auto data = generate(small(task));
    SCOPED_TRACE(to_string(task));
    EXPECT_EQ(static_cast<int64_t>(data.train.size()), 300);
    EXPECT_EQ(static_cast<int64_t>(data.test_hashes.size()), 100);
    std::set<std::string> hashes;
    int64_t hashed = 0;
    for (const auto& ex : data.train) {
      if (ex.marker == Vocab::kEdge) {
        EXPECT_TRUE(ex.hash.empty());  // edge facts carry no hash, and state an edge of the graph
        const int64_t u = ex.answer[0] - Vocab::kEntityBase, w = ex.answer[1] - Vocab::kEntityBase;
        EXPECT_TRUE(data.edges.count({std::min(u, w), std::max(u, w)}));
        continue;
      }
      EXPECT_TRUE(coherent(data, ex.answer)) << data.vocab.text(ex.answer);
      EXPECT_EQ(static_cast<int64_t>(ex.answer.size()), data.answer_length());
      EXPECT_EQ(static_cast<int64_t>(ex.hash.size()), 6);
      hashes.insert(ex.hash);
      ++hashed;
    }
    for (const auto& h : data.test_hashes) hashes.insert(h);
    EXPECT_EQ(static_cast<int64_t>(hashes.size()), hashed + 100);
  }
}

TEST(CreativeTasks, GenerationIsSeededAndTheTaskFolderRegeneratesIt) {
  const auto a = generate(small(Task::circle));
  const auto b = generate(small(Task::circle));
  ASSERT_EQ(a.train.size(), b.train.size());
  for (size_t i = 0; i < a.train.size(); ++i) EXPECT_EQ(a.train[i].answer, b.train[i].answer);
  auto other = small(Task::circle);
  other.seed = 5;
  EXPECT_NE(generate(other).train.front().answer, a.train.front().answer);
  // Token text round trip.
  const auto& ex = a.train.front();
  EXPECT_EQ(a.vocab.parse(a.vocab.text(ex.answer)), ex.answer);
  EXPECT_THROW(a.vocab.parse("<a_99>"), Error);
  EXPECT_THROW(a.vocab.parse("AB"), Error);
}

TEST(CreativeTasks, SiblingHoldsOutTripletsAndKnowsTheParents) {
  const auto data = generate(small(Task::sibling));
  EXPECT_EQ(data.held_out.size(), 22u);  // 5% of 3 x 12 x 12, rounded
  std::set<std::vector<int64_t>> trained;
  for (const auto& ex : data.train) trained.insert(ex.answer);
  for (const auto& h : data.held_out) {
    EXPECT_FALSE(trained.count(h));
    EXPECT_TRUE(coherent(data, h));  // held out, yet a valid answer
  }
  // Parent 0's first children are 3..14, second children 15..26; parent 1's follow (27..50).
  const Vocab& v = data.vocab;
  EXPECT_TRUE(coherent(data, answer(v, {3, 15, 0})));
  EXPECT_FALSE(coherent(data, answer(v, {15, 3, 0})));  // slots swapped
  EXPECT_FALSE(coherent(data, answer(v, {3, 39, 0})));  // a second child of parent 1
  EXPECT_FALSE(coherent(data, answer(v, {3, 15, 1})));  // wrong parent
  EXPECT_FALSE(coherent(data, answer(v, {3, 15})));     // malformed
  EXPECT_FALSE(coherent(data, {v.entity(3), Vocab::kSep, v.entity(0)}));
}

TEST(CreativeTasks, TriangleFactsAreSymmetricAndTrianglesUseTheGraph) {
  const auto data = generate(small(Task::triangle));
  int64_t triangles = 0;
  for (const auto& ex : data.train) {
    if (ex.marker == Vocab::kEdge) {
      ASSERT_EQ(ex.answer.size(), 5u);
      EXPECT_EQ(ex.answer[0], ex.answer[4]);
      EXPECT_EQ(ex.answer[1], ex.answer[3]);
    } else {
      ++triangles;
    }
  }
  EXPECT_GT(triangles, 50);
  EXPECT_LT(triangles, 150);  // about a third
  // A triangle of the graph, and one with a missing edge.
  const auto& t = std::find_if(data.train.begin(), data.train.end(), [](const Example& e) { return e.marker == Vocab::kTriangle; })->answer;
  EXPECT_TRUE(coherent(data, t));
  auto broken = t;
  broken[7] = broken[3];  // w v: the closing edge no longer returns to u
  EXPECT_FALSE(coherent(data, broken));
  // A vertex set's key ignores the order.
  const std::vector<int64_t> rotated{t[3], t[4], Vocab::kSep, t[4], t[0], Vocab::kSep, t[0], t[3]};
  EXPECT_TRUE(coherent(data, rotated));
  EXPECT_EQ(memory_key(data, rotated), memory_key(data, t));
}

TEST(CreativeTasks, CircleAndLineCheckersRejectWhatIsNotOneCycleOrPath) {
  auto o = small(Task::circle);
  o.circle_entities = 6;
  o.circle_vertices = 4;
  const auto circle = generate(o);
  const Vocab& v = circle.vocab;
  EXPECT_TRUE(coherent(circle, answer(v, {0, 1, -1, 2, 3, -1, 1, 2, -1, 3, 0})));
  EXPECT_FALSE(coherent(circle, answer(v, {0, 1, -1, 0, 1, -1, 1, 2, -1, 2, 0})));  // a repeated edge
  EXPECT_FALSE(coherent(circle, answer(v, {0, 1, -1, 1, 0, -1, 2, 3, -1, 3, 2})));  // two cycles of two
  EXPECT_FALSE(coherent(circle, answer(v, {0, 1, -1, 0, 2, -1, 0, 3, -1, 1, 2})));  // a vertex of degree 3
  EXPECT_FALSE(coherent(circle, answer(v, {0, 1, -1, 1, 2, -1, 2, 3})));            // a path, one edge short
  EXPECT_FALSE(coherent(circle, answer(v, {0, 1, 1, 2, -1, 2, 3, -1, 3, 0})));      // no separator
  auto lo = small(Task::line);
  lo.line_entities = 6;
  lo.line_vertices = 4;
  const auto line = generate(lo);
  EXPECT_TRUE(coherent(line, answer(line.vocab, {2, 3, -1, 0, 1, -1, 1, 2})));
  EXPECT_FALSE(coherent(line, answer(line.vocab, {0, 1, -1, 1, 2, -1, 2, 0})));  // a cycle
  EXPECT_FALSE(coherent(line, answer(line.vocab, {0, 1, -1, 2, 3, -1, 1, 0})));  // disconnected, repeated
}

TEST(CreativeTasks, TheCanonicalFormIgnoresNamesButKeepsEdgeOrder) {
  TaskOptions o = small(Task::circle);
  o.circle_entities = 5;
  o.circle_vertices = 5;
  const auto data = generate(o);
  const Vocab& v = data.vocab;
  const std::vector<int64_t> cycle{0, 1, -1, 3, 4, -1, 1, 2, -1, 2, 3, -1, 4, 0};
  const auto key = memory_key(data, answer(v, cycle));
  // Every renaming of the five vertices gives the same form (all 120 permutations).
  std::vector<int64_t> names(5);
  std::iota(names.begin(), names.end(), 0);
  int64_t permutations = 0;
  do {
    std::vector<int64_t> renamed;
    for (const int64_t x : cycle) renamed.push_back(x < 0 ? x : names[static_cast<size_t>(x)]);
    EXPECT_EQ(memory_key(data, answer(v, renamed)), key);
    ++permutations;
  } while (std::next_permutation(names.begin(), names.end()));
  EXPECT_EQ(permutations, 120);
  // Swapping the first two edges changes it (the official definition keeps edge order).
  const std::vector<int64_t> swapped{3, 4, -1, 0, 1, -1, 1, 2, -1, 2, 3, -1, 4, 0};
  EXPECT_NE(memory_key(data, answer(v, swapped)), key);
  EXPECT_EQ(canonical_form(v, answer(v, {4, 2, -1, 2, 0})), answer(v, {0, 1, -1, 1, 2}));
}

TEST(CreativeTasks, EveryRotationAndReflectionOfACycleWrittenAlongItHasOneForm) {
  TaskOptions o = small(Task::circle);
  o.circle_entities = 6;
  o.circle_vertices = 6;
  const auto data = generate(o);
  const Vocab& v = data.vocab;
  const std::vector<int64_t> cycle{3, 0, 5, 1, 4, 2};
  std::set<std::string> keys;
  for (int direction = 0; direction < 2; ++direction)
    for (size_t start = 0; start < cycle.size(); ++start) {
      std::vector<int64_t> walk, items;
      for (size_t i = 0; i < cycle.size(); ++i)
        walk.push_back(direction == 0 ? cycle[(start + i) % 6] : cycle[(start + 6 - i) % 6]);
      for (size_t i = 0; i < walk.size(); ++i) {
        if (i) items.push_back(-1);
        items.push_back(walk[i]);
        items.push_back(walk[(i + 1) % walk.size()]);
      }
      const auto written = answer(v, items);
      EXPECT_TRUE(coherent(data, written));
      keys.insert(memory_key(data, written));
    }
  EXPECT_EQ(keys.size(), 1u);  // 12 writings, one form: 0 1 <sep> 1 2 <sep> ... <sep> 5 0
}

TEST(CreativeTasks, BadOptionsAreUsageErrors) {
  auto o = small(Task::circle);
  o.circle_vertices = 11;
  EXPECT_THROW(generate(o), Error);
  o = small(Task::sibling);
  o.train_examples = 1000;  // more than the 410 triplets not held out
  EXPECT_THROW(generate(o), Error);
  EXPECT_THROW(parse_task("sudoku"), Error);
  o = small(Task::circle);
  o.hash_length = 1;  // 36 hashes for 400 examples: refused, not drawn forever
  EXPECT_THROW(generate(o), Error);
}

}  // namespace
}  // namespace garden::text::creative
