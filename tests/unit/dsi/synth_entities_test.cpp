#include "garden/dsi/synth_entities.h"

#include <fmt/core.h>
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "garden/dsi/evaluation.h"
#include "test_files.h"

namespace garden::dsi {
namespace {

TEST(SynthEntities, TheSplitFollowsTheSpec) {
  SynthEntitiesOptions o;  // 1000 documents, 20% indexed only, 3 training queries each
  const auto e = generate_synth_entities(o);
  const auto& c = e.collection;
  ASSERT_EQ(c.corpus.size(), 1000U);
  std::map<std::string, int> train_per_doc, test_per_doc;
  std::map<std::string, std::set<std::string>> train_texts;
  std::map<std::string, std::string> text_of;
  for (const auto& q : c.queries) text_of[q.id] = q.text;
  for (const auto& [qid, judged] : e.train_qrels) {
    ASSERT_EQ(judged.size(), 1U);
    ++train_per_doc[judged.begin()->first];
    train_texts[judged.begin()->first].insert(text_of.at(qid));
  }
  for (const auto& [qid, judged] : c.qrels) {
    ASSERT_EQ(judged.size(), 1U);
    EXPECT_FALSE(e.train_qrels.count(qid)) << "a query both trains and tests";
    const auto& doc = judged.begin()->first;
    ++test_per_doc[doc];
    EXPECT_FALSE(train_texts[doc].count(text_of.at(qid))) << "a test query repeats a training query: " << text_of.at(qid);
  }
  EXPECT_EQ(train_per_doc.size(), 800U);
  for (const auto& [doc, n] : train_per_doc) EXPECT_EQ(n, 3) << doc;
  int seen = 0, indexed_only = 0;
  for (const auto& [doc, n] : test_per_doc) {
    EXPECT_EQ(n, 1);
    (train_per_doc.count(doc) ? seen : indexed_only) += 1;
  }
  EXPECT_EQ(indexed_only, 200);
  EXPECT_EQ(seen, 200);
  EXPECT_EQ(c.queries.size(), 800U * 3 + 400);
  // Documents follow the template, and are all different.
  std::set<std::string> texts;
  for (const auto& d : c.corpus) {
    EXPECT_NE(d.text.find(" is a "), std::string::npos);
    EXPECT_NE(d.text.find(" from "), std::string::npos);
    EXPECT_NE(d.text.find(" known for "), std::string::npos);
    texts.insert(d.text);
  }
  EXPECT_EQ(texts.size(), 1000U);
  // Seeded: the same options give the same collection, another seed another one.
  EXPECT_EQ(generate_synth_entities(o).collection.queries[5].text, c.queries[5].text);
  o.seed = 1;
  EXPECT_NE(generate_synth_entities(o).collection.corpus[0].text, c.corpus[0].text);
}

TEST(SynthEntities, WithoutIndexedOnlyDocumentsEveryDocumentHasTrainingAndOneTestQuery) {
  SynthEntitiesOptions o;  // ance.md's variant
  o.documents = 200;
  o.indexed_only_share = 0;
  const auto e = generate_synth_entities(o);
  std::map<std::string, int> train_per_doc, test_per_doc;
  for (const auto& [qid, judged] : e.train_qrels) ++train_per_doc[judged.begin()->first];
  for (const auto& [qid, judged] : e.collection.qrels) ++test_per_doc[judged.begin()->first];
  EXPECT_EQ(train_per_doc.size(), 200U);
  EXPECT_EQ(test_per_doc.size(), 200U);
  for (const auto& [doc, n] : train_per_doc) EXPECT_EQ(n, 3) << doc;
  for (const auto& [doc, n] : test_per_doc) EXPECT_EQ(n, 1) << doc;
  o.indexed_only_share = 1;
  testing::expect_error_containing([&] { generate_synth_entities(o); }, "--indexed-only");
}

TEST(SynthEntities, QueriesUseSynonymsSoSomeShareNoWordWithTheirDocument) {
  const auto e = generate_synth_entities({});
  std::map<std::string, std::string> doc_text;
  for (const auto& d : e.collection.corpus) doc_text[d.id] = d.text;
  int64_t queries = 0, with_unseen_word = 0;
  for (const auto& q : e.collection.queries) {
    const auto judged = e.train_qrels.count(q.id) ? e.train_qrels.at(q.id) : e.collection.qrels.at(q.id);
    const std::string& doc = doc_text.at(judged.begin()->first);
    std::string word;
    bool unseen = false;
    for (const char ch : q.text + " ") {
      if (ch >= 'a' && ch <= 'z') {
        word += ch;
        continue;
      }
      static const std::set<std::string> glue = {"which", "from", "is", "known", "for", "a", "with", "and", "the", "what",
                                                 "of", "famous", "something", "find"};
      if (!word.empty() && !glue.count(word) && doc.find(word) == std::string::npos) unseen = true;
      word.clear();
    }
    ++queries;
    with_unseen_word += unseen ? 1 : 0;
  }
  EXPECT_GT(with_unseen_word, queries / 2) << "most queries should word a field with a synonym";
  EXPECT_LT(with_unseen_word, queries) << "some queries should use the document's own words";
}

TEST(SynthEntities, TheWrittenCollectionReadsBackAsDsiData) {
  testing::TempDir dir;
  SynthEntitiesOptions o;
  o.documents = 50;
  write_entity_collection(generate_synth_entities(o), dir.path() / "c");
  const auto data = read_dsi_data(dir.path() / "c");
  EXPECT_EQ(data.documents.size(), 50U);
  EXPECT_EQ(data.train_queries.size(), 40U * 3);
  EXPECT_EQ(data.test.size(), 20U);
  int64_t seen = 0;
  for (const auto& t : data.test) seen += t.seen ? 1 : 0;
  EXPECT_EQ(seen, 10);
  testing::expect_error_containing([&] { read_dsi_data(dir.path() / "missing"); }, "qrels/train.tsv");
}

}  // namespace
}  // namespace garden::dsi
