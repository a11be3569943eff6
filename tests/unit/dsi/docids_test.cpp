#include "garden/dsi/docids.h"

#include <fmt/core.h>
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "garden/core/files.h"
#include "test_files.h"

namespace garden::dsi {
namespace {

std::vector<std::string> names(int64_t n) {
  std::vector<std::string> out;
  for (int64_t i = 0; i < n; ++i) out.push_back(fmt::format("d{}", i));
  return out;
}

// `per_blob` points around each of `blobs` centres, 10 apart on axes of their own (blobs dimensions).
std::vector<float> blob_vectors(int64_t blobs, int64_t per_blob, std::vector<int64_t>& blob_of) {
  std::mt19937_64 rng(3);
  std::normal_distribution<float> noise(0, 0.05F);
  std::vector<float> v;
  for (int64_t b = 0; b < blobs; ++b)
    for (int64_t i = 0; i < per_blob; ++i) {
      for (int64_t d = 0; d < blobs; ++d) v.push_back((d == b ? 10.0F : 0.0F) + noise(rng));
      blob_of.push_back(b);
    }
  return v;
}

TEST(Docids, NaiveIdsAreTheDigitsOfAPermutationAndOneMayPrefixAnother) {
  const auto map = naive_docids(names(120), 5);
  EXPECT_EQ(map.symbols, 10);
  std::set<int64_t> numbers;
  for (const auto& d : map.docids) {
    int64_t value = 0;
    for (const int64_t digit : d) value = value * 10 + digit;
    EXPECT_TRUE(d.size() == 1 || d[0] != 0) << "no leading zeros";
    numbers.insert(value);
  }
  EXPECT_EQ(numbers.size(), 120U);
  EXPECT_EQ(*numbers.begin(), 0);
  EXPECT_EQ(*numbers.rbegin(), 119);
  // "7" and "70".."79" are all docids: the trie must end a docid at an inner node.
  const DocidTrie trie(map);
  const int64_t seven = trie.child(0, 7);
  ASSERT_GE(seven, 0);
  EXPECT_TRUE(trie.ends_here(seven));
  EXPECT_EQ(trie.next_symbols(seven).size(), 10U);
  EXPECT_FALSE(trie.ends_here(0));
}

TEST(Docids, AtomicIdsAreOneSymbolPerDocument) {
  const auto map = atomic_docids(names(50), 1);
  EXPECT_EQ(map.symbols, 50);
  std::set<int64_t> symbols;
  for (const auto& d : map.docids) {
    ASSERT_EQ(d.size(), 1U);
    symbols.insert(d[0]);
  }
  EXPECT_EQ(symbols.size(), 50U);
  EXPECT_EQ(map.document_of(map.docids[17]), 17);
  EXPECT_EQ(map.document_of({99}), -1);
}

TEST(Docids, SemanticIdsSeparateBlobsByTheirFirstDigitAndRespectTheLeafCapacity) {
  std::vector<int64_t> blob_of;
  const auto vectors = blob_vectors(5, 40, blob_of);
  SemanticOptions o;
  o.k = 5;
  o.c = 8;
  const auto map = semantic_docids(names(200), vectors, 5, o);
  // A bijection onto the documents.
  std::set<Docid> distinct(map.docids.begin(), map.docids.end());
  EXPECT_EQ(distinct.size(), 200U);
  // Each blob is one first digit, and different blobs have different ones.
  std::map<int64_t, std::set<int64_t>> first_digits;
  for (size_t i = 0; i < map.docids.size(); ++i) first_digits[blob_of[i]].insert(map.docids[i][0]);
  std::set<int64_t> used;
  for (const auto& [blob, digits] : first_digits) {
    EXPECT_EQ(digits.size(), 1U) << "blob " << blob;
    used.insert(*digits.begin());
  }
  EXPECT_EQ(used.size(), 5U);
  // Leaves: every prefix without its last symbol is shared by at most c documents.
  std::map<Docid, int64_t> leaf_sizes;
  for (const auto& d : map.docids) ++leaf_sizes[Docid(d.begin(), d.end() - 1)];
  for (const auto& [prefix, size] : leaf_sizes) EXPECT_LE(size, o.c);
  EXPECT_GE(map.max_length(), 3) << "40 per blob over c = 8 needs another level";
}

TEST(Docids, IdenticalVectorsStillGetDistinctIds) {
  const std::vector<float> same(60 * 3, 1.0F);
  SemanticOptions o;
  o.k = 3;
  o.c = 4;
  const auto map = semantic_docids(names(60), same, 3, o);
  EXPECT_EQ(std::set<Docid>(map.docids.begin(), map.docids.end()).size(), 60U);
}

TEST(Docids, TfidfVectorsPutDocumentsOfOneTopicTogether) {
  std::vector<std::string> texts;
  for (int i = 0; i < 10; ++i) texts.push_back(fmt::format("apple banana cherry fruit {}", i));
  for (int i = 0; i < 10; ++i) texts.push_back(fmt::format("engine wheel brake car {}", i));
  int64_t dims = 0;
  const auto v = tfidf_svd_vectors(texts, 8, &dims);
  ASSERT_EQ(static_cast<int64_t>(v.size()), 20 * dims);
  const auto cosine = [&](int a, int b) {
    double s = 0;
    for (int64_t d = 0; d < dims; ++d) s += double{v[static_cast<size_t>(a * dims + d)]} * v[static_cast<size_t>(b * dims + d)];
    return s;
  };
  EXPECT_GT(cosine(0, 1), cosine(0, 15) + 0.3);
  EXPECT_GT(cosine(12, 13), cosine(12, 3) + 0.3);
}

TEST(Docids, TheMapFileRoundTripsAndBadFilesAreRefused) {
  testing::TempDir dir;
  const auto map = naive_docids(names(30), 2);
  write_docid_map(map, dir.path() / "map.tsv");
  const auto back = read_docid_map(dir.path() / "map.tsv");
  EXPECT_EQ(back.doc_ids, map.doc_ids);
  EXPECT_EQ(back.docids, map.docids);
  EXPECT_EQ(back.scheme, DocidScheme::naive);
  write_file_atomic(dir.path() / "bad.tsv", "# scheme naive symbols 10\nd0\t1 2\nd1\t1 2\n");
  testing::expect_error_containing([&] { read_docid_map(dir.path() / "bad.tsv"); }, "shares its docid");
  write_file_atomic(dir.path() / "range.tsv", "# scheme naive symbols 10\nd0\t1 12\n");
  testing::expect_error_containing([&] { read_docid_map(dir.path() / "range.tsv"); }, "outside 0..9");
  write_file_atomic(dir.path() / "header.tsv", "d0\t1\n");
  testing::expect_error_containing([&] { read_docid_map(dir.path() / "header.tsv"); }, "expected '# scheme");
}

}  // namespace
}  // namespace garden::dsi
