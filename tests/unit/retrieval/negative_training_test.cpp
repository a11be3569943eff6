// Retriever training with mined negatives (ANCE): the names of the negative sources, the
// training set of a collection, the refresh schedule with its lag (the table in use is always
// a whole one, swapped only at the scheduled step), chunked refreshes, resuming after a kill
// in the middle of a refresh, and the gradient-norm diagnostics.
#include "garden/retrieval/negative_training.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "garden/core/error.h"
#include "garden/train/run_folder.h"
#include "test_helpers.h"

namespace garden::retrieval {
namespace {

namespace fs = std::filesystem;

// 24 documents "<letter> <letter> <word>"; query i "k<letter>" is relevant to documents 2i
// and 2i + 1 (two positives each), so the sampler has positives to skip.
RetrievalTrainingSet letter_set() {
  RetrievalTrainingSet set;
  const std::vector<std::string> words = {"red", "blue"};
  for (int i = 0; i < 12; ++i) {
    const std::string letter(1, static_cast<char>('a' + i));
    for (const auto& w : words) set.corpus.push_back(letter + letter + letter + " " + w);
    set.queries.push_back("k" + letter);
    set.positives.push_back({2 * i, 2 * i + 1});
    set.examples.push_back({i, 2 * i, {}});
    set.examples.push_back({i, 2 * i + 1, {}});
  }
  return set;
}

// A dot-product embedder with ANCE's head (projection + LayerNorm), byte tokens.
model::Embedder ance_embedder() {
  model::EmbedderConfig e;
  e.projection = 8;
  e.projection_layernorm = true;
  e.unit_vectors = false;
  e.max_tokens = 32;
  return testing::tiny_embedder_with(e);
}

train::TrainConfig small_train(int64_t steps) { return testing::small_embed_train(steps); }

NegativeSampling ance_sampling(int64_t refresh_every, int64_t lag) {
  auto s = NegativeSampling::parse("ance");
  s.depth = 8;
  s.per_query = 3;
  s.refresh_every = refresh_every;
  s.lag = lag;
  return s;
}

void expect_whole(const NegativeTable& table, const RetrievalTrainingSet& set) {
  ASSERT_EQ(table.negatives.size(), set.queries.size());
  for (size_t q = 0; q < set.queries.size(); ++q) {
    EXPECT_EQ(table.negatives[q].size(), 3u) << "query " << q;
    for (int64_t row : table.negatives[q]) {
      EXPECT_TRUE(std::find(set.positives[q].begin(), set.positives[q].end(), row) == set.positives[q].end()) << "a judged positive";
      EXPECT_GE(row, 0);
      EXPECT_LT(row, static_cast<int64_t>(set.corpus.size()));
    }
  }
}

TEST(NegativeTraining, NamesParseIntoSourceAndLoss) {
  EXPECT_EQ(NegativeSampling::parse("inbatch").source, NegativeSource::none);
  EXPECT_TRUE(NegativeSampling::parse("inbatch").in_batch);
  EXPECT_FALSE(NegativeSampling::parse("ance").in_batch);
  EXPECT_EQ(NegativeSampling::parse("bm25+inbatch").source, NegativeSource::bm25);
  EXPECT_TRUE(NegativeSampling::parse("bm25+inbatch").in_batch);
  EXPECT_EQ(NegativeSampling::parse("hardest").source, NegativeSource::hardest_in_batch);
  EXPECT_EQ(NegativeSampling::parse("hardest").to_json()["loss"], "pairwise-nll");
  for (const auto* name : {"inbatch", "hardest", "random", "bm25", "ance", "random+inbatch", "bm25+inbatch", "ance+inbatch"})
    EXPECT_EQ(NegativeSampling::parse(name).name(), name);
  EXPECT_EQ(NegativeSampling::parse("ance").to_json()["loss"], "pairwise-nll");
  testing::expect_error_containing([] { NegativeSampling::parse("inbatch+inbatch"); }, "--negatives must be");
  testing::expect_error_containing([] { NegativeSampling::parse("hardest+inbatch"); }, "--negatives must be");
  testing::expect_error_containing([] { NegativeSampling::parse("nce"); }, "--negatives must be");
  auto s = NegativeSampling::parse("ance");
  s.lag = s.refresh_every;
  testing::expect_error_containing([&] { s.validate(); }, "--ann-lag");
  // The mining depth scales with the corpus: 50 of 2,000 documents, within [10, 200].
  EXPECT_EQ(s.depth_for(2000), 50);
  EXPECT_EQ(s.depth_for(100), 10);
  EXPECT_EQ(s.depth_for(8'800'000), 200);
  s.depth = 7;
  EXPECT_EQ(s.depth_for(2000), 7);
}

TEST(NegativeTraining, TrainingSetKeepsJudgedPairsOfTheSplit) {
  Collection c;
  c.corpus = {{"d1", "T", "one"}, {"d2", "", "two"}, {"d3", "", "three"}};
  c.queries = {{"q1", "first"}, {"q2", "second"}, {"q3", "unjudged"}};
  c.qrels = {{"q1", {{"d2", 1}, {"d3", 2}}}, {"q2", {{"d1", 0}}}};
  const auto set = training_set_from_collection(c, "c");
  EXPECT_EQ(set.corpus[0], "T one");
  ASSERT_EQ(set.queries.size(), 1u);  // q2's only judgement is not relevant; q3 has none
  EXPECT_EQ(set.positives[0], (std::vector<int64_t>{1, 2}));
  ASSERT_EQ(set.examples.size(), 2u);
  c.qrels = {{"q2", {{"d1", 0}}}};
  testing::expect_error_containing([&] { training_set_from_collection(c, "the-collection"); }, "the-collection");
}

TEST(NegativeTraining, RefreshesAreSwappedWholeAtTheLaggedStep) {
  torch::set_num_threads(1);
  testing::TempDir dir;
  const text::ByteTokenizer tok;
  const auto set = letter_set();
  auto embedder = ance_embedder();
  NegativeSupply supply(embedder, tok, set, ance_sampling(3, 2), dir.path(), 1, true);
  // Refresh k snapshots the weights after step 3k and is used from step 3k + 3 on.
  const std::vector<int64_t> expected = {0, 0, 0, 0, 0, 3, 3, 3, 6, 6, 6, 9};
  std::shared_ptr<const NegativeTable> previous;
  for (int64_t step = 1; step <= 12; ++step) {
    const auto table = supply.table_for_step(step);
    EXPECT_EQ(supply.table_for_step(step), table) << "a second micro-batch of step " << step;
    ASSERT_TRUE(table);
    EXPECT_EQ(table->source_step, expected[static_cast<size_t>(step - 1)]) << "step " << step;
    EXPECT_EQ(supply.stats().index_age, step - 1 - table->source_step);
    expect_whole(*table, set);
    if (previous && previous->source_step == table->source_step) {
      EXPECT_EQ(previous, table) << "swapped outside the schedule";
    }
    previous = table;
    // Training goes on while a refresh is in flight: the weights move between snapshots.
    torch::NoGradGuard no_grad;
    for (auto& p : embedder->parameters()) p.add_(0.01 * torch::randn_like(p));
  }
  for (int64_t step : {0, 3, 6, 9}) EXPECT_TRUE(fs::exists(supply.table_path(step)));
  EXPECT_TRUE(fs::exists(supply.snapshot_path(3)));  // the weights of a refresh, for a resume while it runs
  EXPECT_EQ(supply.stats().refreshes, 4);
}

TEST(NegativeTraining, LagZeroRefreshesAtTheSnapshotStep) {
  torch::set_num_threads(1);
  testing::TempDir dir;
  const text::ByteTokenizer tok;
  const auto set = letter_set();
  auto embedder = ance_embedder();
  NegativeSupply supply(embedder, tok, set, ance_sampling(2, 0), dir.path(), 1, true);
  for (int64_t step = 1; step <= 6; ++step) EXPECT_EQ(supply.table_for_step(step)->source_step, (step - 1) / 2 * 2) << step;
  EXPECT_FALSE(fs::exists(supply.snapshot_path(2)));  // nothing in flight to resume
}

TEST(NegativeTraining, ChunkedRefreshesRedrawOneChunkAndCarryTheRest) {
  torch::set_num_threads(1);
  testing::TempDir dir;
  const text::ByteTokenizer tok;
  const auto set = letter_set();
  auto embedder = ance_embedder();
  auto sampling = ance_sampling(1, 0);
  sampling.chunk_factor = 3;
  NegativeSupply supply(embedder, tok, set, sampling, dir.path(), 1, true);
  auto before = supply.table_for_step(1);
  std::vector<std::set<int64_t>> redrawn_by(set.queries.size());
  for (int64_t step = 2; step <= 4; ++step) {  // refreshes 1, 2, 3: chunks 0, 1, 2
    {
      torch::NoGradGuard no_grad;
      for (auto& p : embedder->parameters()) p.add_(0.05 * torch::randn_like(p));
    }
    const auto after = supply.table_for_step(step);
    const int64_t chunk = (step - 2) % 3;
    for (size_t q = 0; q < set.queries.size(); ++q) {
      if (static_cast<int64_t>(q) % 3 != chunk) {
        EXPECT_EQ(after->negatives[q], before->negatives[q]) << "query " << q << " carried";
      } else {
        redrawn_by[q].insert(step);
      }
    }
    expect_whole(*after, set);
    before = after;
  }
  for (const auto& steps : redrawn_by) EXPECT_EQ(steps.size(), 1u);  // every query once in c refreshes
}

// A run stopped while a refresh was in flight, its table lost as if the process had been
// killed before the worker wrote it, resumes to the same weights as a straight run.
TEST(NegativeTraining, ResumeAfterAKillDuringARefreshRebuildsItsTable) {
  torch::set_num_threads(1);
  testing::TempDir dir;
  const text::ByteTokenizer tok;
  const auto set = letter_set();
  const auto sampling = ance_sampling(3, 2);
  const int64_t steps = 8;

  auto straight = ance_embedder();
  const auto a = train_retriever(straight, tok, "bytes", set, sampling, small_train(steps), dir.path() / "straight", false, true);
  EXPECT_EQ(a.train.steps_done, steps);
  EXPECT_EQ(a.refresh.refreshes, 2);  // the tables of steps 0 and 3; that of step 6 would be used from step 9
  auto first = ance_embedder();
  auto interrupted = small_train(steps);
  interrupted.stop_after = 4;  // the refresh of step 3 is in flight until step 6
  EXPECT_TRUE(train_retriever(first, tok, "bytes", set, sampling, interrupted, dir.path() / "resumed", false, true).train.interrupted);
  const auto negatives = dir.path() / "resumed" / "negatives";
  ASSERT_TRUE(fs::exists(negatives / "ance-step0000003.safetensors"));
  fs::remove(negatives / "ance-step0000003.jsonl");
  auto second = ance_embedder();
  const auto b = train_retriever(second, tok, "bytes", set, sampling, small_train(steps), dir.path() / "resumed", true, true);
  EXPECT_EQ(b.train.steps_done, steps);
  EXPECT_TRUE(fs::exists(negatives / "ance-step0000003.jsonl"));
  EXPECT_EQ(read_negative_table(negatives / "ance-step0000003.jsonl").negatives,
            read_negative_table(dir.path() / "straight" / "negatives" / "ance-step0000003.jsonl").negatives);
  auto pa = straight->named_parameters(), pb = second->named_parameters();
  for (const auto& item : pa) EXPECT_TRUE(torch::equal(item.value(), pb[item.key()])) << item.key();
  // A resume that finds neither the table nor its weights says so.
  fs::remove(negatives / "ance-step0000003.jsonl");
  fs::remove(negatives / "ance-step0000003.safetensors");
  auto third = ance_embedder();
  NegativeSupply supply(third, tok, set, sampling, dir.path() / "resumed", 3, true);
  testing::expect_error_containing([&] { supply.table_for_step(7); }, "neither the negatives of step 3");
}

TEST(NegativeTraining, AResumeRefusesATableOfOtherSettings) {
  torch::set_num_threads(1);
  testing::TempDir dir;
  const text::ByteTokenizer tok;
  const auto set = letter_set();
  auto embedder = ance_embedder();
  {
    NegativeSupply first(embedder, tok, set, ance_sampling(3, 0), dir.path(), 1, true);
    first.table_for_step(1);
    auto table = read_negative_table(first.table_path(0));
    table.per_query = 2;  // as written by a run with --per-query 2
    write_negative_table(first.table_path(0), table);
  }
  NegativeSupply resumed(embedder, tok, set, ance_sampling(3, 0), dir.path(), 1, true);
  testing::expect_error_containing([&] { resumed.table_for_step(2); }, "a table of another collection or other settings");
}

TEST(NegativeTraining, GradientNormIsTheSigmoidTimesTheScoreGapsGradient) {
  // loss = softplus(f- - f+), so |grad loss| = sigmoid(f- - f+) |grad (f+ - f-)|: the norm
  // vanishes as the triple's loss does (the paper's argument against easy negatives).
  torch::set_num_threads(1);
  const text::ByteTokenizer tok;
  const auto set = letter_set();
  auto embedder = ance_embedder();
  const std::vector<int64_t> sample = {0, 2, 4};
  const auto diagnostics = negative_diagnostics(embedder, tok, set, sample, nullptr, nullptr, 1);
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_EQ(diagnostics[0].type, "inbatch");
  // By hand: example i's in-batch negative is example i+1's positive.
  embedder->eval();
  double loss = 0, norm = 0;
  std::vector<torch::Tensor> params;
  for (const auto& p : embedder->projection->parameters()) params.push_back(p);
  for (const auto& p : embedder->projection_norm->parameters()) params.push_back(p);
  for (size_t i = 0; i < sample.size(); ++i) {
    const auto& ex = set.examples[static_cast<size_t>(sample[i])];
    const auto& other = set.examples[static_cast<size_t>(sample[(i + 1) % sample.size()])];
    const auto batch = model::make_embedding_batch(tok, {set.queries[static_cast<size_t>(ex.query)], set.corpus[static_cast<size_t>(ex.positive)],
                                                         set.corpus[static_cast<size_t>(other.positive)]},
                                                   "", 32, model::CaseFolding::none);
    const auto v = embedder->forward(batch.tokens, batch.attention_mask, batch.pool_mask);
    const auto gap = (v[0] * v[1]).sum() - (v[0] * v[2]).sum();
    const auto grads = torch::autograd::grad({gap}, params);
    double squared = 0;
    for (const auto& g : grads) squared += g.pow(2).sum().item<double>();
    const double g = gap.item<double>();
    loss += std::log1p(std::exp(-g));
    norm += std::sqrt(squared) / (1 + std::exp(g));  // sigmoid(f- - f+) |grad gap|
  }
  EXPECT_NEAR(diagnostics[0].loss, loss / 3, 1e-4 * (1 + loss));
  EXPECT_NEAR(diagnostics[0].grad_norm, norm / 3, 1e-4 * (1 + norm));
  EXPECT_GT(diagnostics[0].grad_norm, 0);
}

TEST(NegativeTraining, AnceTrainingLowersTheLossAndLogsItsRefreshes) {
  torch::set_num_threads(1);
  testing::TempDir dir;
  const text::ByteTokenizer tok;
  const auto set = letter_set();
  auto embedder = ance_embedder();
  auto config = small_train(30);
  config.eval_every = 10;
  const auto result = train_retriever(embedder, tok, "bytes", set, ance_sampling(10, 4), config, dir.path(), false, true);
  ASSERT_EQ(result.diagnostics.size(), 3u);
  for (const auto& row : result.diagnostics) {
    EXPECT_TRUE(row.contains("ance_grad_norm")) << row.dump();
    EXPECT_TRUE(row.contains("inbatch_grad_norm")) << row.dump();
    EXPECT_TRUE(row.contains("index_age")) << row.dump();
  }
  const auto& losses = result.train.step_losses;
  double early = 0, late = 0;
  for (int i = 0; i < 5; ++i) {
    early += losses[static_cast<size_t>(i)];
    late += losses[losses.size() - 1 - static_cast<size_t>(i)];
  }
  EXPECT_LT(late, early);
  ASSERT_TRUE(result.last_table);
  EXPECT_EQ(result.last_table->source_step, 20);  // snapshot after step 20, in use from step 25
  EXPECT_GE(result.refresh.refreshes, 3);
}

TEST(NegativeTraining, HardestInBatchNegativesTrainAndNeedABatch) {
  torch::set_num_threads(1);
  testing::TempDir dir;
  const text::ByteTokenizer tok;
  const auto set = letter_set();
  auto embedder = ance_embedder();
  const auto result = train_retriever(embedder, tok, "bytes", set, NegativeSampling::parse("hardest"), small_train(20), dir.path() / "a", false, true);
  const auto& losses = result.train.step_losses;
  ASSERT_EQ(losses.size(), 20u);
  for (double l : losses) EXPECT_TRUE(std::isfinite(l));
  EXPECT_FALSE(result.last_table);  // no table: the negatives come from the batch
  auto one = small_train(2);
  one.batch = 1;
  testing::expect_error_containing([&] { train_retriever(embedder, tok, "bytes", set, NegativeSampling::parse("hardest"), one, dir.path() / "b", false, true); },
                                   "--negatives hardest needs a batch of at least 2");
}

}  // namespace
}  // namespace garden::retrieval
