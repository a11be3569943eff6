// Helpers shared by the embedding reproductions (llm2vec, matryoshka, nv-embed): the shared
// base LM they start from, the short fine-tuning runs they train, Spearman of cosines on STS pairs, nDCG@10 of exact search on a
// BEIR collection, and the conversion of embeddings to the retrieval stack's matrices.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "garden/eval/sts.h"
#include "garden/model/embedder.h"
#include "garden/repro/reproduction.h"
#include "garden/retrieval/collection.h"
#include "garden/retrieval/dense.h"
#include "garden/retrieval/vectors.h"
#include "garden/train/base_lm.h"
#include "garden/train/trainer.h"

namespace garden::repro {

// The shared tiny base LM for the run's seed (built and cached on first use); at smoke
// scale a toy one (400 pieces, 10 steps).
train::BaseLm shared_base_lm(const Context& ctx);

// A short fine-tuning run: weight decay 0.01, no periodic evaluation, a checkpoint only at
// the end.
train::TrainConfig finetune_config(int64_t steps, int64_t batch, double lr, int64_t warmup, uint64_t seed);

retrieval::Matrix to_matrix(const torch::Tensor& embeddings);

// Spearman x 100 between the cosine of each pair's embeddings and the gold scores.
double sts_spearman(model::Embedder& embedder, const text::Tokenizer& tokenizer, const std::vector<eval::StsPair>& pairs);

// A collection's documents (title + text) and queries embedded, with their ids.
struct EncodedCollection {
  retrieval::Matrix docs, queries;
  std::vector<std::string> doc_ids, query_ids;
};
EncodedCollection encode_collection(model::Embedder& embedder, const text::Tokenizer& tokenizer, const retrieval::Collection& collection);

// nDCG@10 x 100 of ranked hits (rows of the encoded documents) against the qrels.
double ndcg10(const std::vector<std::vector<retrieval::Hit>>& hits, const EncodedCollection& encoded, const retrieval::Qrels& qrels);
// nDCG@10 x 100 of exact search over all the embedding's dimensions.
double exact_ndcg10(model::Embedder& embedder, const text::Tokenizer& tokenizer, const retrieval::Collection& collection);

}  // namespace garden::repro
