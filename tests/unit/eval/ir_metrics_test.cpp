// IR metrics: a hand-computed toy, then every shared collection against trec_eval's own
// output (reference/bm25.trec_eval.txt and the per-query .q.txt) to 4 decimals.
#include "garden/eval/ir_metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "garden/core/files.h"
#include "test_files.h"

namespace garden::eval {
namespace {

using retrieval::Qrels;

TEST(IrMetrics, HandComputedToy) {
  // q1 ranks d3 (judged 0), d1 (rel 1), d4 (unjudged), d2 (rel 2).
  // q2 retrieves nothing relevant; q5 has a score tie that trec_eval breaks by docid
  // descending ("d8" before "a"); q3 has no judgements and q4 no run: both are ignored.
  retrieval::Run run{{"q1", {{"d3", 3.0}, {"d1", 2.0}, {"d4", 1.0}, {"d2", 0.5}}},
          {"q2", {{"d6", 1.0}, {"d7", 1.0}}},
          {"q3", {{"d1", 1.0}}},
          {"q5", {{"a", 1.0}, {"d8", 1.0}}}};
  Qrels qrels{{"q1", {{"d1", 1}, {"d2", 2}, {"d3", 0}}}, {"q2", {{"d5", 1}}}, {"q4", {{"d1", 1}}}, {"q5", {{"d8", 1}}}};
  auto r = evaluate_run(run, qrels, {"p@2", "recall@2", "success@1", "mrr", "map", "rprec", "ndcg@2", "ndcg"});
  EXPECT_EQ(r.queries, 3);
  const auto& q1 = r.per_query.at("q1");
  EXPECT_DOUBLE_EQ(q1.at("p@2"), 0.5);
  EXPECT_DOUBLE_EQ(q1.at("recall@2"), 0.5);
  EXPECT_DOUBLE_EQ(q1.at("success@1"), 0.0);
  EXPECT_DOUBLE_EQ(q1.at("mrr"), 0.5);
  EXPECT_DOUBLE_EQ(q1.at("map"), (1.0 / 2 + 2.0 / 4) / 2);  // relevant at ranks 2 and 4, R = 2
  EXPECT_DOUBLE_EQ(q1.at("rprec"), 0.5);
  // dcg@2 = 1/log2(3); ideal = 2/log2(2) + 1/log2(3).
  const double ideal = 2.0 + 1.0 / std::log2(3.0);
  EXPECT_NEAR(q1.at("ndcg@2"), (1.0 / std::log2(3.0)) / ideal, 1e-12);
  EXPECT_NEAR(q1.at("ndcg"), (1.0 / std::log2(3.0) + 2.0 / std::log2(5.0)) / ideal, 1e-12);
  EXPECT_DOUBLE_EQ(r.per_query.at("q2").at("mrr"), 0.0);
  EXPECT_DOUBLE_EQ(r.per_query.at("q5").at("mrr"), 1.0);
  EXPECT_DOUBLE_EQ(r.mean.at("mrr"), (0.5 + 0.0 + 1.0) / 3);
}

TEST(IrMetrics, UnknownMetricsAreUsageErrors) {
  testing::expect_error_containing([] { parse_metric_list("ndcg@10,bleu"); }, "unknown metric 'bleu'");
  testing::expect_error_containing([] { parse_metric_list("recall"); }, "needs a cut-off");
  testing::expect_error_containing([] { parse_metric_list("ndcg@x"); }, "positive integer");
  EXPECT_EQ(parse_metric_list("NDCG@10, map"), (std::vector<std::string>{"ndcg@10", "map"}));
}

// Means over no queries used to print 0.0000 for every metric, as if the run had failed.
TEST(IrMetrics, RefusesARunThatSharesNoQueryWithTheQrels) {
  retrieval::Run run{{"q1", {{"d1", 1.0}}}};
  retrieval::Qrels qrels{{"q9", {{"d1", 1}}}};
  testing::expect_error_containing([&] { evaluate_run(run, qrels, {"mrr"}); }, "the run and the qrels share no query");
}

TEST(TrecFiles, MalformedLinesNameFileAndLine) {
  testing::TempDir dir;
  write_file_atomic(dir.path() / "r.run", "1 Q0 d1 1 2.5 x\n1 Q0 d2 2 high x\n");
  testing::expect_error_containing([&] { retrieval::read_trec_run(dir.path() / "r.run"); }, "r.run:2: score 'high' is not a number");
  write_file_atomic(dir.path() / "q.tsv", "query-id\tcorpus-id\tscore\n1\td1\n");
  testing::expect_error_containing([&] { retrieval::read_qrels(dir.path() / "q.tsv"); }, "q.tsv:2: a BEIR qrels line has 3 fields");
}

TEST(TrecFiles, RunRoundTripRanksByScore) {
  testing::TempDir dir;
  retrieval::Run run{{"7", {{"b", 1.0}, {"a", 3.0}}}};
  retrieval::write_trec_run(dir.path() / "out.run", run, "garden");
  EXPECT_EQ(read_file(dir.path() / "out.run"), "7 Q0 a 1 3.000000 garden\n7 Q0 b 2 1.000000 garden\n");
  EXPECT_EQ(retrieval::read_trec_run(dir.path() / "out.run").at("7").size(), 2u);
}

// trec_eval measure name -> garden metric name.
const std::map<std::string, std::string>& trec_eval_names() {
  static const std::map<std::string, std::string> names = {
      {"map", "map"},         {"P_5", "p@5"},           {"P_10", "p@10"},           {"P_100", "p@100"},
      {"recall_10", "recall@10"}, {"recall_100", "recall@100"}, {"ndcg", "ndcg"},      {"ndcg_cut_10", "ndcg@10"},
      {"ndcg_cut_100", "ndcg@100"}, {"recip_rank", "mrr"},  {"Rprec", "rprec"},       {"map_cut_10", "map@10"},
      {"map_cut_100", "map@100"}, {"success_1", "success@1"}, {"success_5", "success@5"}, {"success_10", "success@10"}};
  return names;
}

TEST(IrMetrics, MatchTrecEvalOnEverySharedCollection) {
  const auto root = testing::shared_data_root();
  int collections = 0;
  if (std::filesystem::is_directory(root)) {
    for (const auto& entry : std::filesystem::directory_iterator(root)) {
      const auto ref = entry.path() / "reference";
      if (!std::filesystem::exists(ref / "bm25.trec_eval.txt")) continue;
      ++collections;
      SCOPED_TRACE(entry.path().filename().string());
      const auto run = retrieval::read_trec_run(ref / "bm25.run");
      const auto qrels = retrieval::read_qrels(ref / "qrels.trec");
      // Also through the BEIR qrels, which must give the same judgements.
      EXPECT_EQ(retrieval::read_qrels(entry.path() / "qrels" / "test.tsv"), qrels);
      std::vector<std::string> metrics;
      for (const auto& [trec, ours] : trec_eval_names()) metrics.push_back(ours);
      const auto result = evaluate_run(run, qrels, metrics);
      // Means: every measure we share with trec_eval, to its 4 printed decimals.
      std::ifstream summary(ref / "bm25.trec_eval.txt");
      std::string name, scope, value;
      int compared = 0;
      while (summary >> name >> scope >> value) {
        if (name == "num_q") {
          EXPECT_EQ(result.queries, std::stoll(value));
        }
        auto it = trec_eval_names().find(name);
        if (it == trec_eval_names().end()) continue;
        EXPECT_NEAR(result.mean.at(it->second), std::stod(value), 5e-5 + 1e-9) << name;
        ++compared;
      }
      EXPECT_GE(compared, 12);
      // Per query: nDCG@10 and AP of every query.
      std::ifstream per_query(ref / "bm25.trec_eval.q.txt");
      int checked = 0;
      while (per_query >> name >> scope >> value) {
        if (scope == "all" || (name != "ndcg_cut_10" && name != "map")) continue;
        EXPECT_NEAR(result.per_query.at(scope).at(trec_eval_names().at(name)), std::stod(value), 5e-5 + 1e-9) << name << " " << scope;
        ++checked;
      }
      EXPECT_EQ(checked, 2 * result.queries);
    }
  }
  if (collections == 0) GTEST_SKIP() << "no collections with reference/ under " << root << " (set GARDEN_DATA)";
}

}  // namespace
}  // namespace garden::eval
