#include "garden/retrieval/collection.h"

#include <gtest/gtest.h>

#include "garden/core/files.h"
#include "test_files.h"

namespace garden::retrieval {
namespace {

void write_collection(const std::filesystem::path& dir, const std::string& corpus, const std::string& queries,
                      const std::string& qrels) {
  write_file_atomic(dir / "corpus.jsonl", corpus);
  write_file_atomic(dir / "queries.jsonl", queries);
  write_file_atomic(dir / "qrels" / "test.tsv", "query-id\tcorpus-id\tscore\n" + qrels);
}

TEST(BeirCollection, ReadsAndWarnsAboutUnresolvableJudgements) {
  testing::TempDir dir;
  write_collection(dir.path(),
                   "{\"_id\": \"d1\", \"title\": \"Wings\", \"text\": \"lift and drag\"}\n"
                   "{\"_id\": \"d2\", \"title\": \"\", \"text\": \"\"}\n",
                   "{\"_id\": \"q1\", \"text\": \"lift\"}\n", "q1\td1\t1\nq1\td9\t1\nq7\td1\t1\n");
  auto c = read_beir_collection(dir.path());
  ASSERT_EQ(c.corpus.size(), 2u);
  EXPECT_EQ(document_text(c.corpus[0]), "Wings lift and drag");
  EXPECT_EQ(c.qrels.size(), 1u);
  EXPECT_EQ(c.qrels.at("q1").size(), 1u);  // d9 is unknown and dropped
  ASSERT_EQ(c.warnings.size(), 3u);        // empty document, unknown query, unknown document
  EXPECT_NE(c.warnings[0].find("1 documents have an empty title and text"), std::string::npos);
  // One file's texts, as the collection reads them.
  EXPECT_EQ(read_jsonl_texts(dir.path() / "corpus.jsonl"), (std::vector<std::string>{"Wings lift and drag", ""}));
  EXPECT_EQ(read_jsonl_texts(dir.path() / "queries.jsonl"), (std::vector<std::string>{"lift"}));
}

TEST(BeirCollection, DuplicateIdsAndBadLinesAreErrors) {
  testing::TempDir dir;
  write_collection(dir.path(), "{\"_id\": \"d1\", \"text\": \"a\"}\n{\"_id\": \"d1\", \"text\": \"b\"}\n",
                   "{\"_id\": \"q1\", \"text\": \"a\"}\n", "q1\td1\t1\n");
  testing::expect_error_containing([&] { read_beir_collection(dir.path()); }, "corpus.jsonl:2: duplicate document id 'd1'");
  write_collection(dir.path(), "{\"_id\": \"d1\", \"text\": \"a\"}\n", "{\"_id\": \"q1\"}\n", "q1\td1\t1\n");
  testing::expect_error_containing([&] { read_beir_collection(dir.path()); }, "queries.jsonl:1: missing field 'text'");
  write_collection(dir.path(), "{\"_id\": \"d1\", \"text\": \"a\"\n", "{\"_id\": \"q1\", \"text\": \"a\"}\n", "q1\td1\t1\n");
  testing::expect_error_containing([&] { read_beir_collection(dir.path()); }, "corpus.jsonl:1: not a valid JSON line");
  testing::expect_error_containing([&] { read_beir_collection(dir.path() / "nowhere"); }, "nowhere: no such folder");
}

TEST(BeirCollection, SharedCranfieldHasTheDocumentedCounts) {
  const auto root = testing::shared_data_root();
  if (!std::filesystem::exists(root / "cranfield" / "corpus.jsonl")) GTEST_SKIP() << "no cranfield under " << root;
  auto c = read_beir_collection(root / "cranfield");
  EXPECT_EQ(c.corpus.size(), 1400u);
  EXPECT_EQ(c.queries.size(), 225u);
  size_t judgements = 0;
  for (const auto& [q, judged] : c.qrels) judgements += judged.size();
  EXPECT_EQ(judgements, 1837u);  // cranfield/README.md: 1,612 relevant + 225 judged 0
  // cranfield/README.md: documents 471 and 995 are empty; they are kept, with one warning.
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_NE(c.warnings[0].find("2 documents have an empty title and text"), std::string::npos);
}

}  // namespace
}  // namespace garden::retrieval
