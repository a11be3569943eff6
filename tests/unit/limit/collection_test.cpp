#include "garden/limit/collection.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <set>

#include "garden/core/error.h"
#include "garden/limit/recall.h"
#include "garden/retrieval/bm25.h"

namespace garden::limit {
namespace {

TEST(LimitData, PatternsLayOutThePairsAsSpecified) {
  const auto dense = qrel_pairs(QrelPattern::dense, 1000, 0);
  ASSERT_EQ(relevant_docs_needed(QrelPattern::dense, 1000), 46);
  ASSERT_EQ(dense.size(), 1000u);
  EXPECT_EQ(dense.front(), (std::pair<int64_t, int64_t>{0, 1}));
  EXPECT_EQ(dense[44], (std::pair<int64_t, int64_t>{0, 45}));
  EXPECT_EQ(dense[45], (std::pair<int64_t, int64_t>{1, 2}));
  EXPECT_TRUE(std::is_sorted(dense.begin(), dense.end()));
  EXPECT_EQ(qrel_pairs(QrelPattern::cycle, 10, 0).back(), (std::pair<int64_t, int64_t>{9, 0}));
  EXPECT_EQ(qrel_pairs(QrelPattern::disjoint, 10, 0)[3], (std::pair<int64_t, int64_t>{6, 7}));
  const auto random = qrel_pairs(QrelPattern::random, 500, 7);
  const std::set<std::pair<int64_t, int64_t>> distinct(random.begin(), random.end());
  EXPECT_EQ(distinct.size(), size_t{500});
  for (const auto& [a, b] : random) EXPECT_TRUE(a < b && b < 500);
}

// The generator's guarantee, checked on the written text: a query's attribute (one BM25
// token) occurs in exactly its two relevant documents and in no distractor.
TEST(LimitData, QueryAttributesOccurOnlyInTheirRelevantDocuments) {
  for (QrelPattern pattern : {QrelPattern::dense, QrelPattern::cycle, QrelPattern::random, QrelPattern::disjoint}) {
    LimitDataOptions o;
    o.pattern = pattern;
    o.queries = 60;
    o.docs = relevant_docs_needed(pattern, o.queries) + 150;
    o.attributes_per_doc = 20;
    o.seed = 3;
    const retrieval::Collection c = generate_limit_collection(o);
    ASSERT_EQ(static_cast<int64_t>(c.corpus.size()), o.docs);
    ASSERT_EQ(c.queries.size(), 60u);
    std::map<std::string, std::set<std::string>> docs_with_token;
    std::set<std::string> ids;
    for (const retrieval::Document& d : c.corpus) {
      EXPECT_TRUE(ids.insert(d.id).second) << "duplicate id " << d.id;
      for (const auto& t : retrieval::bm25_tokens(d.text, "none")) docs_with_token[t].insert(d.id);
      EXPECT_GE(std::count(d.text.begin(), d.text.end(), ',') + 1, 20) << d.text;
    }
    std::set<std::string> relevant_anywhere;
    for (const retrieval::Query& q : c.queries) {
      const auto tokens = retrieval::bm25_tokens(q.text, "none");
      ASSERT_EQ(tokens.size(), 3u) << q.text;  // who likes <attribute>
      std::set<std::string> relevant;
      for (const auto& [doc, grade] : c.qrels.at(q.id)) relevant.insert(doc);
      EXPECT_EQ(relevant.size(), 2u);
      EXPECT_EQ(docs_with_token[tokens[2]], relevant) << to_string(pattern) << " " << q.text;
      relevant_anywhere.insert(relevant.begin(), relevant.end());
    }
    // Every document the pattern names is relevant somewhere (random pairs need not cover all).
    if (pattern == QrelPattern::random) {
      EXPECT_LE(static_cast<int64_t>(relevant_anywhere.size()), relevant_docs_needed(pattern, 60));
    } else {
      EXPECT_EQ(static_cast<int64_t>(relevant_anywhere.size()), relevant_docs_needed(pattern, 60));
    }
  }
}

TEST(LimitData, RejectsImpossibleRequests) {
  LimitDataOptions o;
  o.docs = 10;  // dense with 1000 queries needs 46
  EXPECT_THROW(generate_limit_collection(o), Error);
  o.docs = 0;
  o.k = 3;
  EXPECT_THROW(generate_limit_collection(o), Error);
  EXPECT_THROW(parse_qrel_pattern("zigzag"), Error);
}

TEST(LimitData, WrittenCollectionReadsBackAndBm25SolvesIt) {
  LimitDataOptions o;
  o.queries = 200;  // dense: 21 documents
  const retrieval::Collection c = generate_limit_collection(o);
  const auto dir = std::filesystem::temp_directory_path() / ("garden-limit-test-" + std::to_string(::getpid()));
  retrieval::write_beir_collection(c, dir);
  const retrieval::Collection back = retrieval::read_beir_collection(dir);
  EXPECT_EQ(back.corpus.size(), c.corpus.size());
  EXPECT_EQ(back.queries.size(), c.queries.size());
  EXPECT_EQ(back.qrels, c.qrels);
  limit::LimitEvalOptions eo;
  eo.ks = {2, 10};
  eo.free_dims = {};
  eo.hashed_dims = 0;
  eo.quiet = true;
  const auto rows = limit::evaluate_limit(back, dir, eo);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_GE(rows[0].recall.at(2), 0.95);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace garden::limit
