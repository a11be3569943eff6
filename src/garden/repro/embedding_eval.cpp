#include "garden/repro/embedding_eval.h"

#include "garden/eval/ir_metrics.h"

namespace garden::repro {

train::BaseLm shared_base_lm(const Context& ctx) {
  train::BaseLmOptions options;
  options.seed = ctx.seed;
  if (ctx.scale == Scale::smoke) {
    // The whole pipeline in seconds: a small vocabulary, a few steps.
    options.vocab = 400;
    options.steps = 10;
    options.batch = 4;
    options.seq = 32;
    options.tokenizer_sentences = 20000;
  }
  return train::ensure_base_lm(ctx.cache, ctx.data_root, options, false, ctx.quiet);
}

train::TrainConfig finetune_config(int64_t steps, int64_t batch, double lr, int64_t warmup, uint64_t seed) {
  train::TrainConfig tc;
  tc.steps = steps;
  tc.batch = batch;
  tc.lr = lr;
  tc.warmup = warmup;
  tc.weight_decay = 0.01;
  tc.eval_every = 0;
  tc.checkpoint_every = 0;
  tc.seed = seed;
  return tc;
}

retrieval::Matrix to_matrix(const torch::Tensor& embeddings) {
  retrieval::Matrix m;
  m.rows = embeddings.size(0);
  m.cols = embeddings.size(1);
  const auto c = embeddings.contiguous();
  m.data.assign(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  return m;
}

double sts_spearman(model::Embedder& embedder, const text::Tokenizer& tokenizer, const std::vector<eval::StsPair>& pairs) {
  std::vector<std::string> first, second;
  for (const auto& p : pairs) {
    first.push_back(p.first);
    second.push_back(p.second);
  }
  const auto cosines =
      (model::encode_texts(embedder, tokenizer, first, "", 64) * model::encode_texts(embedder, tokenizer, second, "", 64)).sum(1).contiguous();
  std::vector<double> gold, predicted(cosines.data_ptr<float>(), cosines.data_ptr<float>() + cosines.numel());
  for (const auto& p : pairs) gold.push_back(p.score);
  return 100 * eval::spearman(predicted, gold);
}

EncodedCollection encode_collection(model::Embedder& embedder, const text::Tokenizer& tokenizer, const retrieval::Collection& collection) {
  EncodedCollection e;
  std::vector<std::string> docs, queries;
  for (const auto& d : collection.corpus) {
    e.doc_ids.push_back(d.id);
    docs.push_back(retrieval::document_text(d));
  }
  for (const auto& q : collection.queries) {
    e.query_ids.push_back(q.id);
    queries.push_back(q.text);
  }
  e.docs = to_matrix(model::encode_texts(embedder, tokenizer, docs, "", 64));
  e.queries = to_matrix(model::encode_texts(embedder, tokenizer, queries, "", 64));
  return e;
}

double ndcg10(const std::vector<std::vector<retrieval::Hit>>& hits, const EncodedCollection& encoded, const retrieval::Qrels& qrels) {
  return 100 * eval::evaluate_run(retrieval::hits_to_run(hits, encoded.query_ids, encoded.doc_ids), qrels, {"ndcg@10"}).mean.at("ndcg@10");
}

double exact_ndcg10(model::Embedder& embedder, const text::Tokenizer& tokenizer, const retrieval::Collection& collection) {
  const auto encoded = encode_collection(embedder, tokenizer, collection);
  return ndcg10(retrieval::exact_search(encoded.docs, encoded.queries, 10), encoded, collection.qrels);
}

}  // namespace garden::repro
