// HyDE: the official prompt templates, the mean over N + 1 vectors (query included) or N,
// stop strings, seeded sampling, and the retriever: with no generated document it ranks as
// plain dense retrieval, and a generated copy of a document finds that document first.
#include "garden/retrieval/hyde.h"

#include <gtest/gtest.h>

#include "garden/model/embedder.h"
#include "garden/model/transformer.h"
#include "garden/retrieval/retriever.h"
#include "garden/text/tokenizer.h"
#include "test_files.h"
#include "test_helpers.h"

namespace garden::retrieval {
namespace {

TEST(Hyde, TemplatesAreTheOfficialStrings) {
  EXPECT_EQ(hyde_template("web-search"), "Please write a passage to answer the question.\nQuestion: {query}\nPassage:");
  EXPECT_EQ(hyde_template("scifact"), "Please write a scientific paper passage to support/refute the claim.\nClaim: {query}\nPassage:");
  EXPECT_EQ(hyde_template("arguana"), "Please write a counter argument for the passage.\nPassage: {query}\nCounter Argument:");
  EXPECT_EQ(hyde_template("trec-covid"), "Please write a scientific paper passage to answer the question.\nQuestion: {query}\nPassage:");
  EXPECT_EQ(hyde_template("fiqa"), "Please write a financial article passage to answer the question.\nQuestion: {query}\nPassage:");
  EXPECT_EQ(hyde_template("dbpedia-entity"), "Please write a passage to answer the question.\nQuestion: {query}\nPassage:");
  EXPECT_EQ(hyde_template("trec-news"), "Please write a news passage about the topic.\nTopic: {query}\nPassage:");
  EXPECT_EQ(hyde_template("mr-tydi:Swahili"), "Please write a passage in Swahili to answer the question in detail.\nQuestion: {query}\nPassage:");
  EXPECT_EQ(hyde_template("title"), "Title: {query}\nAbstract:");
  testing::expect_error_containing([] { hyde_template("webb"); }, "unknown HyDE task 'webb': one of");
  EXPECT_EQ(fill_hyde_prompt("Title: {query}\nAbstract:", "flow {query}"), "Title: flow {query}\nAbstract:");  // filled once
  testing::expect_error_containing([] { fill_hyde_prompt("Title:", "q"); }, "needs {query}");
  testing::expect_error_containing([] { fill_hyde_prompt("{query} {query}", "q"); }, "holds {query} once");
}

TEST(Hyde, StopStringsCutBeforeTheFirstOne) {
  EXPECT_EQ(cut_at_stop("a passage\n\n\nnext", {"\n\n\n"}), "a passage");
  EXPECT_EQ(cut_at_stop("x END y STOP z", {"STOP", "END"}), "x ");
  EXPECT_EQ(cut_at_stop("no stop", {"\n\n\n", ""}), "no stop");
}

// A stub encoder: a text's vector is (its length, 1, number of 'a's).
Matrix stub_encode(const std::vector<std::string>& texts) {
  Matrix m{static_cast<int64_t>(texts.size()), 3, {}};
  for (const auto& t : texts) {
    m.data.push_back(static_cast<float>(t.size()));
    m.data.push_back(1.0F);
    m.data.push_back(static_cast<float>(std::count(t.begin(), t.end(), 'a')));
  }
  return m;
}

TEST(Hyde, QueryVectorIsTheMeanOfNPlusOneOrN) {
  const std::vector<std::string> queries{"q", "qq"};
  const std::vector<std::vector<std::string>> generated{{"aa", "aaaa"}, {"abcdef"}};
  const auto with = hyde_query_vectors(stub_encode, queries, generated, true, false);
  ASSERT_EQ(with.rows, 2);
  EXPECT_FLOAT_EQ(with.row(0)[0], (1.0F + 2 + 4) / 3);  // query included: divided by N + 1 = 3
  EXPECT_FLOAT_EQ(with.row(0)[2], (0.0F + 2 + 4) / 3);
  EXPECT_FLOAT_EQ(with.row(1)[0], (2.0F + 6) / 2);
  const auto without = hyde_query_vectors(stub_encode, queries, generated, false, false);
  EXPECT_FLOAT_EQ(without.row(0)[0], 3.0F);  // (2 + 4) / 2
  EXPECT_FLOAT_EQ(without.row(1)[2], 1.0F);
  const auto unit = hyde_query_vectors(stub_encode, queries, generated, true, true);
  EXPECT_NEAR(std::hypot(unit.row(1)[0], unit.row(1)[1], unit.row(1)[2]), 1.0, 1e-6);
  testing::expect_error_containing([&] { hyde_query_vectors(stub_encode, queries, {{}, {"x"}}, false, false); },
                                   "query 1 has no generated document");
}

TEST(Hyde, SamplingIsSeededAndGreedyGivesOneText) {
  torch::set_num_threads(1);
  torch::manual_seed(4);
  auto tokenizer = std::make_shared<const text::ByteTokenizer>();
  const auto generate = lm_generator(model::Transformer(testing::byte_config()), tokenizer, 3);
  HydeSampling sampling;
  sampling.n = 4;
  sampling.max_new_tokens = 8;
  sampling.temperature = 1.0;
  const auto a = generate({"Title: flow\nAbstract:", "x"}, sampling);
  const auto b = generate({"Title: flow\nAbstract:", "x"}, sampling);
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(a[0].size(), 4u);
  EXPECT_EQ(a, b);
  EXPECT_NE(a[0][0], a[0][1]);  // each sample has its own seed
  sampling.temperature = 0;
  const auto greedy = generate({"Title: flow\nAbstract:"}, sampling);
  for (const auto& text : greedy[0]) EXPECT_EQ(text, greedy[0][0]);
  // A prompt too long for the context keeps its end: it samples as that end alone.
  sampling.max_new_tokens = 8;
  const std::string tail(55, 'z');  // 55 bytes + BOS + 8 new tokens = the context of 64
  EXPECT_EQ(generate({std::string(40, 'a') + tail}, sampling), generate({tail}, sampling));
  sampling.max_new_tokens = 63;
  testing::expect_error_containing([&] { generate({"a prompt"}, sampling); }, "leave no room for a prompt in the generator's context of 64");
}

TEST(Hyde, RetrieverWithoutDocumentsIsDenseAndACopiedDocumentComesFirst) {
  torch::set_num_threads(1);
  testing::TempDir dir;
  auto embedder = testing::tiny_embedder();
  model::save_embedder(dir.path() / "emb", embedder, "bytes");
  EmbeddingModel encoder(dir.path() / "emb");
  const std::vector<std::string> ids{"d1", "d2", "d3", "d4"};
  const std::vector<std::string> docs{"boundary layer flow", "heat transfer in pipes", "supersonic wing lift", "the theory of plates"};
  build_dense_index(encode_with_model(encoder, docs, "", 8, ""), ids, dir.path() / "flat", DenseOptions{}, model_fingerprint(dir.path() / "emb"));
  const std::vector<Query> queries{{"1", "wing flow"}, {"2", "plates"}};

  SearchOptions plain;
  plain.model = &encoder;
  const auto dense = open_index(dir.path() / "flat", plain)->search(queries, 4);
  HydeOptions none;
  none.sampling.n = 0;
  const auto never = [](const std::vector<std::string>&, const HydeSampling&) -> std::vector<std::vector<std::string>> {
    throw Error("the generator must not be called when n is 0");
  };
  HydeRetriever zero(dir.path() / "flat", encoder, never, none);
  const auto alone = zero.search(queries, 4);
  ASSERT_EQ(alone.size(), dense.size());
  for (const auto& [qid, ranked] : dense) {
    ASSERT_EQ(alone.at(qid).size(), ranked.size());
    for (size_t i = 0; i < ranked.size(); ++i) {
      EXPECT_EQ(alone.at(qid)[i].doc_id, ranked[i].doc_id);
      EXPECT_NEAR(alone.at(qid)[i].score, ranked[i].score, 1e-5);
    }
  }

  HydeOptions copy;
  copy.sampling.n = 1;
  copy.include_query = false;
  copy.prompt_template = "Title: {query}\nAbstract:";
  std::vector<std::string> prompts_seen;
  const auto copies = [&](const std::vector<std::string>& prompts, const HydeSampling& s) {
    prompts_seen = prompts;
    EXPECT_EQ(s.n, 1);
    return std::vector<std::vector<std::string>>{{docs[2]}, {docs[3]}};
  };
  HydeRetriever hyde(dir.path() / "flat", encoder, copies, copy);
  const auto run = hyde.search(queries, 4);
  EXPECT_EQ(run.at("1").front().doc_id, "d3");
  EXPECT_EQ(run.at("2").front().doc_id, "d4");
  EXPECT_EQ(prompts_seen, (std::vector<std::string>{"Title: wing flow\nAbstract:", "Title: plates\nAbstract:"}));
  EXPECT_EQ(hyde.last_generations()[1], std::vector<std::string>{docs[3]});

  auto other_embedder = testing::tiny_embedder();
  {
    torch::NoGradGuard no_grad;
    other_embedder->backbone->token_embedding->weight[0][0] += 1;  // other weights
  }
  model::save_embedder(dir.path() / "other", other_embedder, "bytes");
  EmbeddingModel other(dir.path() / "other");
  testing::expect_error_containing([&] { HydeRetriever(dir.path() / "flat", other, never, none); }, "has other weights");
}

}  // namespace
}  // namespace garden::retrieval
