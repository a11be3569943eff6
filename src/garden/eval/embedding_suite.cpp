#include "garden/eval/embedding_suite.h"

#include <fmt/core.h>

#include <map>

#include "garden/core/error.h"
#include "garden/eval/clustering.h"
#include "garden/eval/ir_metrics.h"
#include "garden/model/embedder.h"
#include "garden/model/grit.h"

namespace garden::eval {

EmbeddingTask EmbeddingTask::retrieval_task(std::string name, const retrieval::Collection& collection) {
  EmbeddingTask t;
  t.kind = Kind::retrieval;
  t.name = std::move(name);
  t.collection = &collection;
  return t;
}

EmbeddingTask EmbeddingTask::sts_task(std::string name, const std::vector<StsPair>& pairs) {
  EmbeddingTask t;
  t.kind = Kind::sts;
  t.name = std::move(name);
  t.pairs = &pairs;
  return t;
}

namespace {

EmbeddingTask labelled_task(EmbeddingTask::Kind kind, std::string name, const std::vector<std::string>& texts,
                            const std::vector<int64_t>& labels) {
  EmbeddingTask t;
  t.kind = kind;
  t.name = std::move(name);
  t.texts = &texts;
  t.labels = &labels;
  return t;
}

}  // namespace

EmbeddingTask EmbeddingTask::clustering_task(std::string name, const std::vector<std::string>& texts, const std::vector<int64_t>& labels,
                                             int64_t classes, uint64_t seed) {
  EmbeddingTask t = labelled_task(Kind::clustering, std::move(name), texts, labels);
  t.classes = classes;
  t.seed = seed;
  return t;
}

EmbeddingTask EmbeddingTask::knn_task(std::string name, const std::vector<std::string>& texts, const std::vector<int64_t>& labels,
                                      int64_t neighbours) {
  EmbeddingTask t = labelled_task(Kind::knn, std::move(name), texts, labels);
  t.neighbours = neighbours;
  return t;
}

double SuiteScores::at(const std::string& name) const {
  for (const auto& [task, score] : scores)
    if (task == name) return score;
  throw Error("embedding suite: no task named '" + name + "'");
}

double sts_spearman(model::Embedder& embedder, const text::Tokenizer& tokenizer, const std::vector<StsPair>& pairs, int64_t batch_size,
                    const std::string& instruction) {
  std::vector<std::string> first, second;
  for (const auto& p : pairs) {
    first.push_back(p.first);
    second.push_back(p.second);
  }
  // Cosines even for a model scored by inner product (its vectors are not unit length).
  const auto cosines = torch::cosine_similarity(model::encode_texts(embedder, tokenizer, first, instruction, batch_size),
                                                model::encode_texts(embedder, tokenizer, second, instruction, batch_size), 1)
                           .contiguous();
  std::vector<double> gold, predicted(cosines.data_ptr<float>(), cosines.data_ptr<float>() + cosines.numel());
  for (const auto& p : pairs) gold.push_back(p.score);
  return 100 * spearman(predicted, gold);
}

double ndcg10(const std::vector<std::vector<retrieval::Hit>>& hits, const retrieval::EncodedCollection& encoded, const retrieval::Qrels& qrels) {
  return 100 * evaluate_run(retrieval::hits_to_run(hits, encoded.query_ids, encoded.doc_ids), qrels, {"ndcg@10"}).mean.at("ndcg@10");
}

double exact_ndcg10(model::Embedder& embedder, const text::Tokenizer& tokenizer, const retrieval::Collection& collection,
                    int64_t batch_size) {
  const auto encoded = retrieval::encode_collection(embedder, tokenizer, collection, "", batch_size);
  return ndcg10(retrieval::exact_search(encoded.docs, encoded.queries, 10), encoded, collection.qrels);
}

SuiteScores evaluate_embeddings(model::Embedder& embedder, const text::Tokenizer& tokenizer, const std::vector<EmbeddingTask>& tasks,
                                int64_t batch_size, TextFormat format) {
  if (tasks.empty()) throw Error("embedding suite: no tasks");
  const auto query_prefix = [&](const std::string& instruction) {
    return format == TextFormat::grit ? model::grit_embedding_prefix(instruction) : instruction;
  };
  const std::string text_prefix = query_prefix("");
  std::map<const std::vector<std::string>*, retrieval::Matrix> embedded;  // texts shared by clustering and kNN
  const auto vectors_of = [&](const EmbeddingTask& t) -> const retrieval::Matrix& {
    if (!t.texts || !t.labels || t.texts->size() != t.labels->size())
      throw Error(fmt::format("embedding suite: task '{}' needs one label per text", t.name));
    auto it = embedded.find(t.texts);
    if (it == embedded.end())
      it = embedded.emplace(t.texts, retrieval::to_matrix(model::encode_texts(embedder, tokenizer, *t.texts, text_prefix, batch_size))).first;
    return it->second;
  };
  SuiteScores out;
  for (const auto& t : tasks) {
    double score = 0;
    switch (t.kind) {
      case EmbeddingTask::Kind::retrieval:
        if (!t.collection) throw Error(fmt::format("embedding suite: task '{}' has no collection", t.name));
      {
        const auto encoded =
            retrieval::encode_collection(embedder, tokenizer, *t.collection, query_prefix(t.instruction), batch_size, false, text_prefix);
        auto run = retrieval::hits_to_run(retrieval::exact_search(encoded.docs, encoded.queries, kSuiteRunDepth), encoded.query_ids,
                                          encoded.doc_ids);
        score = 100 * evaluate_run(run, t.collection->qrels, {"ndcg@10"}).mean.at("ndcg@10");
        out.runs[t.name] = std::move(run);
        break;
      }
      case EmbeddingTask::Kind::sts:
        if (!t.pairs) throw Error(fmt::format("embedding suite: task '{}' has no pairs", t.name));
        score = sts_spearman(embedder, tokenizer, *t.pairs, batch_size, query_prefix(t.instruction));
        break;
      case EmbeddingTask::Kind::clustering: {
        const auto& v = vectors_of(t);
        score = 100 * v_measure(*t.labels, kmeans_clusters(v.data, v.rows, v.cols, t.classes, t.seed));
        break;
      }
      case EmbeddingTask::Kind::knn: {
        const auto& v = vectors_of(t);
        score = 100 * knn_accuracy(v.data, v.rows, v.cols, *t.labels, t.neighbours);
        break;
      }
    }
    out.scores.emplace_back(t.name, score);
  }
  for (const auto& [name, score] : out.scores) out.average += score / static_cast<double>(out.scores.size());
  return out;
}

SuiteScores evaluate_embeddings(retrieval::EmbeddingModel& model, const std::vector<EmbeddingTask>& tasks, int64_t batch_size) {
  return evaluate_embeddings(model.loaded().embedder, *model.loaded().tokenizer, tasks, batch_size,
                             model.grit() ? TextFormat::grit : TextFormat::plain);
}

}  // namespace garden::eval
