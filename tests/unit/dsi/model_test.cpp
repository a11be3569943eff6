#include "garden/dsi/model.h"

#include <fmt/core.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <random>
#include <set>

#include "garden/dsi/evaluation.h"
#include "garden/text/tokenizer.h"
#include "garden/train/objectives/lm.h"
#include "test_helpers.h"

namespace garden::dsi {
namespace {

std::vector<std::string> doc_names(int64_t n) {
  std::vector<std::string> out;
  for (int64_t i = 0; i < n; ++i) out.push_back(fmt::format("d{}", i));
  return out;
}

TEST(DsiStream, MultitaskMixesAtTheRatioAndNeverTargetsIndexedOnlyDocuments) {
  const text::ByteTokenizer bytes;
  std::vector<std::string> docs;
  for (int i = 0; i < 50; ++i) docs.push_back(fmt::format("document number {}", i));
  std::vector<std::pair<std::string, int64_t>> queries;
  for (int i = 0; i < 40; ++i) queries.emplace_back(fmt::format("query {}", i), i);  // 40..49 are indexed only
  StreamOptions o;
  o.ratio = 4;
  const TrainingStream stream(bytes, docs, queries, o, 7);
  int64_t indexing = 0, retrieval = 0;
  for (int64_t index = 0; index < 250; ++index)
    for (const auto& e : stream.batch(index, 40, index + 1, 250)) {
      if (e.indexing) {
        ++indexing;
        continue;
      }
      ++retrieval;
      EXPECT_LT(e.doc, 40) << "an indexed-only document became a retrieval target";
    }
  EXPECT_EQ(indexing + retrieval, 10000);
  EXPECT_NEAR(static_cast<double>(indexing) / static_cast<double>(retrieval), 4.0, 0.2);
  // The same micro-batch index gives the same examples (a resumed run sees the same stream).
  const auto a = stream.batch(17, 8, 18, 250), b = stream.batch(17, 8, 18, 250);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].input, b[i].input);
}

TEST(DsiStream, SequentialIndexesFirstAndTheModesKeepTheirKind) {
  const text::ByteTokenizer bytes;
  const std::vector<std::string> docs = {"a", "b", "c"};
  const std::vector<std::pair<std::string, int64_t>> queries = {{"qa", 0}, {"qb", 1}};
  StreamOptions o;
  o.mode = StreamMode::sequential;
  const TrainingStream sequential(bytes, docs, queries, o, 1);
  for (const auto& e : sequential.batch(0, 16, 5, 10)) EXPECT_TRUE(e.indexing);
  for (const auto& e : sequential.batch(6, 16, 6, 10)) EXPECT_FALSE(e.indexing);
  o.mode = StreamMode::retrieval_only;
  for (const auto& e : TrainingStream(bytes, docs, queries, o, 1).batch(0, 16, 1, 10)) EXPECT_FALSE(e.indexing);
  o.mode = StreamMode::index_only;
  for (const auto& e : TrainingStream(bytes, docs, {}, o, 1).batch(0, 16, 1, 10)) EXPECT_TRUE(e.indexing);
  o.mode = StreamMode::multitask;
  testing::expect_error_containing([&] { TrainingStream(bytes, docs, {}, o, 1); }, "needs training queries");
}

TEST(DsiStream, DirectIndexingKeepsExactlyLTokensAndSetIndexingDropsRepeatsAndStopWords) {
  const text::ByteTokenizer bytes;
  StreamOptions o;
  o.doc_tokens = 5;
  const TrainingStream direct(bytes, {"abcdefghij", "xy"}, {{"q", 0}}, o, 1);
  EXPECT_EQ(direct.indexing_input(0), bytes.encode("abcde"));
  EXPECT_EQ(direct.indexing_input(1), bytes.encode("xy"));
  EXPECT_EQ(set_representation("The cat and the Cat sat on a mat"), "cat sat mat");
  o.doc_tokens = 100;
  o.representation = DocRepresentation::set;
  const TrainingStream set(bytes, {"the dog and the dog"}, {{"q", 0}}, o, 1);
  EXPECT_EQ(set.indexing_input(0), bytes.encode("dog"));
  // Chunks are contiguous windows of L tokens of the whole text.
  o.representation = DocRepresentation::chunk;
  o.doc_tokens = 3;
  const std::string text = "0123456789";
  const TrainingStream chunk(bytes, {text}, {{"q", 0}}, o, 1);
  for (int64_t index = 0; index < 20; ++index)
    for (const auto& e : chunk.batch(index, 4, 1, 10))
      if (e.indexing) {
        ASSERT_EQ(e.input.size(), 3U);
        const std::string window = bytes.decode(e.input);
        EXPECT_NE(text.find(window), std::string::npos) << window;
      }
}

TEST(DsiModel, TheBatchCountsTheLossOnTheDocidAndItsEndOnly) {
  const DsiVocab vocab{259, 10};
  const auto map = naive_docids(doc_names(20), 0);  // docid of document 3: its digits
  const std::vector<StreamExample> examples = {{true, 3, {65, 66, 67}}, {false, 12, {70}}};
  const auto batch = make_dsi_batch(vocab, examples, map, 258);
  const auto& d3 = map.docids[3];
  const auto& d12 = map.docids[12];
  // Row 0: [IDX] A B C [DOCID] digits [END]
  const auto length0 = static_cast<int64_t>(5 + d3.size() + 1);
  EXPECT_EQ(batch.prefix_lengths[0].item<int64_t>(), 5);
  EXPECT_EQ(batch.tokens[0][0].item<int64_t>(), vocab.index_marker());
  EXPECT_EQ(batch.tokens[1][0].item<int64_t>(), vocab.query_marker());
  EXPECT_EQ(batch.tokens[0][4].item<int64_t>(), vocab.docid_start());
  EXPECT_EQ(batch.tokens[0][5].item<int64_t>(), vocab.symbol(d3[0]));
  EXPECT_EQ(batch.tokens[0][length0 - 1].item<int64_t>(), vocab.docid_end());
  // Counted positions: from [DOCID] (position 4) to the one before [END], predicting symbols then [END].
  EXPECT_EQ(batch.loss_mask[0].sum().item<float>(), static_cast<float>(d3.size() + 1));
  EXPECT_EQ(batch.loss_mask[0][3].item<float>(), 0.0F);
  EXPECT_EQ(batch.loss_mask[0][4].item<float>(), 1.0F);
  EXPECT_EQ(batch.targets[0][4].item<int64_t>(), vocab.symbol(d3[0]));
  EXPECT_EQ(batch.targets[0][length0 - 2].item<int64_t>(), vocab.docid_end());
  EXPECT_EQ(batch.loss_mask[1].sum().item<float>(), static_cast<float>(d12.size() + 1));
  EXPECT_EQ(batch.attention_mask[1].sum().item<int64_t>(), static_cast<int64_t>(3 + d12.size() + 1));
}

// The full-sequence log-probability of `docid` after `input`, from one forward pass.
double sequence_log_prob(DsiModel& m, const std::vector<int64_t>& input, const Docid& docid) {
  auto row = input_row(m.vocab, false, input);
  const auto prefix = static_cast<int64_t>(row.size());
  const auto target = target_tokens(m.vocab, docid);
  row.insert(row.end(), target.begin(), target.end());
  model::ForwardOptions o;
  o.mask = model::MaskMode::prefix;
  o.prefix_lengths = torch::tensor({prefix}, torch::kLong);
  torch::NoGradGuard no_grad;
  const auto log_probs = torch::log_softmax(m.transformer->forward(torch::tensor(row, torch::kLong).view({1, -1}), o).logits[0], -1);
  double total = 0;
  for (size_t j = 0; j < target.size(); ++j) total += log_probs[prefix - 1 + static_cast<int64_t>(j)][target[j]].item<double>();
  return total;
}

DsiModel random_model(const DocidMap& map, uint64_t seed) {
  torch::manual_seed(seed);
  DsiModelOptions o;
  o.d_model = 16;
  o.layers = 2;
  o.heads = 2;
  o.d_ff = 32;
  auto m = new_dsi_model("bytes", map, o, StreamOptions{});
  m.transformer->eval();
  return m;
}

TEST(DsiModel, TheLossOnCountedPositionsEqualsTheMaskedLossOverFullLogits) {
  const auto map = naive_docids(doc_names(30), 2);
  auto m = random_model(map, 3);
  const std::vector<StreamExample> examples = {{true, 3, {65, 66, 67, 68}}, {false, 12, {70}}, {true, 27, {71, 72}}};
  const auto batch = make_dsi_batch(m.vocab, examples, map, 258);
  model::ForwardOptions o;
  o.mask = model::MaskMode::prefix;
  o.prefix_lengths = batch.prefix_lengths;
  o.attention_mask = batch.attention_mask;
  const auto full = train::lm_loss(m.transformer->forward(batch.tokens, o).logits, batch.targets, batch.loss_mask).loss;
  EXPECT_NEAR(dsi_batch_loss(m, batch).item<double>(), full.item<double>(), 1e-5);
}

TEST(DsiSearch, ConstrainedBeamSearchRanksEveryDocidAsTheFullForwardDoes) {
  const auto map = naive_docids(doc_names(25), 4);  // "7" and "17": one docid prefixes another
  auto m = random_model(map, 11);
  const std::vector<int64_t> query = text::ByteTokenizer().encode("which one?");
  SearchOptions o;
  o.beam = 25;  // as many beams as docids: the search is exact
  const auto found = dsi_search(m, {query}, false, o)[0];
  ASSERT_EQ(found.size(), 25U);
  std::vector<std::pair<double, int64_t>> brute;
  for (size_t i = 0; i < map.docids.size(); ++i) brute.emplace_back(sequence_log_prob(m, query, map.docids[i]), static_cast<int64_t>(i));
  std::sort(brute.begin(), brute.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t r = 0; r < found.size(); ++r) {
    EXPECT_EQ(found[r].doc, brute[r].second) << "rank " << r;
    EXPECT_NEAR(found[r].log_prob, brute[r].first, 1e-4) << "rank " << r;
  }
}

TEST(DsiSearch, ARandomModelDecodesOnlyValidDocidsWhenConstrainedAndMostlyInvalidOnesWhenNot) {
  for (const auto scheme : {DocidScheme::naive, DocidScheme::atomic}) {
    const auto map = scheme == DocidScheme::naive ? naive_docids(doc_names(300), 1) : atomic_docids(doc_names(40), 1);
    auto m = random_model(map, 5);
    const text::ByteTokenizer bytes;
    std::vector<std::vector<int64_t>> inputs;
    for (int i = 0; i < 12; ++i) inputs.push_back(bytes.encode(fmt::format("query {}", i * 37)));
    SearchOptions o;
    o.beam = 10;
    int64_t returned = 0;
    for (const auto& list : dsi_search(m, inputs, false, o)) {
      EXPECT_EQ(list.size(), 10U);
      std::set<int64_t> distinct;
      for (const auto& r : list) {
        EXPECT_GE(r.doc, 0) << "an invalid docid under the trie constraint";
        distinct.insert(r.doc);
        ++returned;
      }
      EXPECT_EQ(distinct.size(), list.size()) << "a docid twice in one list";
    }
    EXPECT_EQ(returned, 120);
    o.constrained = false;
    int64_t invalid = 0, total = 0;
    for (const auto& list : dsi_search(m, inputs, false, o))
      for (const auto& r : list) {
        ++total;
        invalid += r.doc < 0 ? 1 : 0;
      }
    EXPECT_GT(invalid, total / 2) << "an untrained model mostly emits text tokens, which are no docids";
  }
}

TEST(DsiTraining, ATinyModelMemorisesTwentyDocumentsAndTheScoreFollowsTheMap) {
  testing::TempDir dir;
  DsiData data;
  data.doc_ids = doc_names(20);
  for (int i = 0; i < 20; ++i) data.documents.push_back(fmt::format("doc {} item", static_cast<char>('a' + i)));
  auto map = naive_docids(data.doc_ids, 3);
  torch::manual_seed(0);
  DsiModelOptions options;
  options.d_model = 32;
  options.layers = 2;
  options.heads = 2;
  options.d_ff = 64;
  StreamOptions stream;
  stream.mode = StreamMode::index_only;
  auto m = new_dsi_model("bytes", map, options, stream);
  DsiTrainJob job;
  job.model = options;
  job.stream = stream;
  job.train.steps = 600;
  job.train.batch = 16;
  job.train.lr = 3e-3;
  job.train.warmup = 20;
  job.train.eval_every = 0;
  job.train.checkpoint_every = 0;
  job.train.log_every = 50;
  train_dsi(m, data.documents, {}, job, dir.path() / "run", false, true);
  EXPECT_EQ(indexing_hits1(m, data, 5), 1.0);
  // The same weights scored against a permuted map: near chance (1 in 20).
  std::vector<size_t> order(20);
  std::iota(order.begin(), order.end(), 0);
  std::rotate(order.begin(), order.begin() + 7, order.end());
  DocidMap permuted = map;
  for (size_t i = 0; i < 20; ++i) permuted.docids[i] = map.docids[order[i]];
  m.docids = permuted;
  EXPECT_LE(indexing_hits1(m, data, 5), 0.15);
  // The saved model loads back with its map and decodes the same.
  m.docids = map;
  save_dsi_model(dir.path() / "model", m);
  auto loaded = load_dsi_model(dir.path() / "model");
  EXPECT_EQ(loaded.docids.docids, map.docids);
  EXPECT_EQ(indexing_hits1(loaded, data, 5), 1.0);
}

TEST(DsiEvaluation, HitsAreCountedPerSplitAndInvalidDocidsAreShared) {
  std::vector<TestQuery> queries = {{"q0", "", {3}, true}, {"q1", "", {5}, false}, {"q2", "", {7, 8}, false}};
  const std::vector<Ranking> ranked = {{3, 1}, {-1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 5}, {1, 8}};
  EXPECT_DOUBLE_EQ(hits_at(ranked, queries, 1), 1.0 / 3);
  EXPECT_DOUBLE_EQ(hits_at(ranked, queries, 2), 2.0 / 3);
  EXPECT_DOUBLE_EQ(hits_at(ranked, queries, 10), 1.0);
  const auto s = score_rankings(ranked, queries);
  EXPECT_EQ(s.seen.queries, 1);
  EXPECT_EQ(s.indexed_only.queries, 2);
  EXPECT_DOUBLE_EQ(s.seen.hits1, 1.0);
  EXPECT_DOUBLE_EQ(s.indexed_only.hits1, 0.0);
  EXPECT_DOUBLE_EQ(s.indexed_only.hits10, 1.0);
  EXPECT_DOUBLE_EQ(s.invalid_share, 1.0 / 15);
}

}  // namespace
}  // namespace garden::dsi
