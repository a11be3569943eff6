#include "garden/eval/embedding_suite.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "garden/core/error.h"
#include "garden/eval/clustering.h"
#include "garden/eval/ir_metrics.h"
#include "garden/model/embedder.h"
#include "test_helpers.h"

namespace garden::eval {
namespace {

// One text at a time, no batching: the slow reference the suite's batched encoding must match.
std::vector<std::vector<double>> embed_one_by_one(model::Embedder& e, const std::vector<std::string>& texts) {
  const text::ByteTokenizer tok;
  std::vector<std::vector<double>> out;
  for (const auto& t : texts) {
    const auto v = model::encode_texts(e, tok, {t}, "", 1).contiguous();
    out.emplace_back(v.data_ptr<float>(), v.data_ptr<float>() + v.numel());
  }
  return out;
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// nDCG@10 by hand: rank every document by cosine (ties to the lower index), gain = relevance.
double reference_ndcg10(model::Embedder& e, const retrieval::Collection& c) {
  std::vector<std::string> docs, queries;
  for (const auto& d : c.corpus) docs.push_back(retrieval::document_text(d));
  for (const auto& q : c.queries) queries.push_back(q.text);
  const auto dv = embed_one_by_one(e, docs), qv = embed_one_by_one(e, queries);
  double total = 0;
  for (size_t q = 0; q < queries.size(); ++q) {
    std::vector<size_t> order(docs.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return dot(qv[q], dv[a]) > dot(qv[q], dv[b]); });
    const auto& judged = c.qrels.at(c.queries[q].id);
    double dcg = 0, ideal = 0;
    std::vector<int> gains;
    for (size_t r = 0; r < order.size() && r < 10; ++r) {
      const auto it = judged.find(c.corpus[order[r]].id);
      dcg += (it == judged.end() ? 0 : it->second) / std::log2(r + 2.0);
    }
    for (const auto& [doc, rel] : judged) gains.push_back(rel);
    std::sort(gains.rbegin(), gains.rend());
    for (size_t r = 0; r < gains.size() && r < 10; ++r) ideal += gains[r] / std::log2(r + 2.0);
    total += dcg / ideal;
  }
  return 100 * total / static_cast<double>(queries.size());
}

TEST(EmbeddingSuite, EveryTaskMatchesAnUnbatchedReferenceAndTheAverageIsTheirMean) {
  auto embedder = testing::tiny_embedder();
  embedder->eval();
  const text::ByteTokenizer tok;
  retrieval::Collection c;
  c.corpus = {{"d1", "", "wing flutter at high speed"}, {"d2", "", "boundary layer transition"},
              {"d3", "", "heat transfer in a pipe"}, {"d4", "", "flutter of swept wings"}};
  c.queries = {{"q1", "flutter of wings"}, {"q2", "laminar boundary layers"}};
  c.qrels["q1"] = {{"d1", 2}, {"d4", 1}};
  c.qrels["q2"] = {{"d2", 1}};
  const std::vector<StsPair> pairs = {{4.5, "a cat sits", "a cat is sitting"}, {0.5, "a man runs", "the sky is blue"},
                                      {4.0, "dogs bark", "a dog barks"}, {3.5, "rain falls", "it is raining"},
                                      {1.0, "red car", "a blue boat"}};
  const std::vector<std::string> texts = {"alpha", "alphabet", "beta", "betamax", "gamma", "gammas", "delta", "deltas"};
  const std::vector<int64_t> labels = {0, 0, 1, 1, 2, 2, 3, 3};

  const auto scores = evaluate_embeddings(embedder, tok,
                                          {EmbeddingTask::sts_task("sts", pairs), EmbeddingTask::retrieval_task("coll", c),
                                           EmbeddingTask::clustering_task("clusters", texts, labels, 4, 3),
                                           EmbeddingTask::knn_task("knn", texts, labels, 1)},
                                          /*batch_size=*/3);
  ASSERT_EQ(scores.scores.size(), 4u);
  EXPECT_EQ(scores.scores[0].first, "sts");  // the order given
  EXPECT_EQ(scores.scores[3].first, "knn");

  std::vector<std::string> first, second;
  std::vector<double> gold;
  for (const auto& p : pairs) {
    first.push_back(p.first);
    second.push_back(p.second);
    gold.push_back(p.score);
  }
  const auto a = embed_one_by_one(embedder, first), b = embed_one_by_one(embedder, second);
  std::vector<double> cosines;
  for (size_t i = 0; i < pairs.size(); ++i) cosines.push_back(dot(a[i], b[i]));
  EXPECT_NEAR(scores.at("sts"), 100 * spearman(cosines, gold), 1e-6);
  EXPECT_NEAR(scores.at("coll"), reference_ndcg10(embedder, c), 1e-4);
  // The retrieval task keeps its ranking (for fusion), and the ranking gives the score.
  ASSERT_EQ(scores.runs.size(), 1u);
  EXPECT_NEAR(100 * evaluate_run(scores.runs.at("coll"), c.qrels, {"ndcg@10"}).mean.at("ndcg@10"), scores.at("coll"), 1e-9);
  EXPECT_EQ(scores.runs.at("coll").size(), c.queries.size());

  std::vector<float> rows;
  for (const auto& v : embed_one_by_one(embedder, texts)) rows.insert(rows.end(), v.begin(), v.end());
  EXPECT_NEAR(scores.at("clusters"), 100 * v_measure(labels, kmeans_clusters(rows, 8, 16, 4, 3)), 1e-6);
  EXPECT_NEAR(scores.at("knn"), 100 * knn_accuracy(rows, 8, 16, labels, 1), 1e-6);
  EXPECT_NEAR(scores.average, (scores.at("sts") + scores.at("coll") + scores.at("clusters") + scores.at("knn")) / 4, 1e-9);
  testing::expect_error_containing([&] { (void)scores.at("absent"); }, "no task named 'absent'");
}

TEST(EmbeddingSuite, BadTasksAreNamed) {
  auto embedder = testing::tiny_embedder();
  const text::ByteTokenizer tok;
  const std::vector<std::string> texts = {"a", "b"};
  const std::vector<int64_t> one_label = {0};
  testing::expect_error_containing([&] { evaluate_embeddings(embedder, tok, {}); }, "no tasks");
  testing::expect_error_containing([&] { evaluate_embeddings(embedder, tok, {EmbeddingTask::knn_task("k", texts, one_label, 1)}); },
                                   "task 'k' needs one label per text");
}

}  // namespace
}  // namespace garden::eval
