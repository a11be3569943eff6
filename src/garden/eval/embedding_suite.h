// The embedding suite: one evaluation of an embedding model over a list of tasks, the
// small-scale stand-in for MTEB that the embedding reproductions and `garden eval suite` share:
//   retrieval  - nDCG@10 x 100 of exact cosine search over a BEIR collection (no instruction);
//   sts        - Spearman x 100 between the cosines of pairs and their gold scores;
//   clustering - V-measure x 100 of k-means (k = the number of classes) over labelled texts;
//   knn        - leave-one-out k-nearest-neighbour accuracy x 100 over labelled texts.
// The average is over the tasks in the order given. The header is free of libtorch, for the
// commands that include it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "garden/eval/sts.h"
#include "garden/retrieval/collection.h"
#include "garden/retrieval/dense.h"
#include "garden/retrieval/model_vectors.h"

namespace garden::model {
class Embedder;
}
namespace garden::text {
class Tokenizer;
}

namespace garden::eval {

// The data a task reads is owned by the caller and must outlive the evaluation.
struct EmbeddingTask {
  enum class Kind { retrieval, sts, clustering, knn };
  Kind kind = Kind::retrieval;
  std::string name;
  const retrieval::Collection* collection = nullptr;  // retrieval
  const std::vector<StsPair>* pairs = nullptr;         // sts
  const std::vector<std::string>* texts = nullptr;     // clustering, knn
  const std::vector<int64_t>* labels = nullptr;        // clustering, knn: one per text
  int64_t classes = 0;                                 // clustering: k of k-means
  int64_t neighbours = 5;                              // knn
  uint64_t seed = 0;                                   // clustering: k-means' seed
  std::string instruction;                             // retrieval queries and STS sentences are read with it

  static EmbeddingTask retrieval_task(std::string name, const retrieval::Collection& collection);
  static EmbeddingTask sts_task(std::string name, const std::vector<StsPair>& pairs);
  static EmbeddingTask clustering_task(std::string name, const std::vector<std::string>& texts, const std::vector<int64_t>& labels,
                                       int64_t classes, uint64_t seed);
  static EmbeddingTask knn_task(std::string name, const std::vector<std::string>& texts, const std::vector<int64_t>& labels,
                                int64_t neighbours);
};

// How deep the suite keeps each retrieval task's ranking (for fusion with other runs).
inline constexpr int64_t kSuiteRunDepth = 100;

struct SuiteScores {
  std::vector<std::pair<std::string, double>> scores;  // per task, in the suite's order
  std::map<std::string, retrieval::Run> runs;          // retrieval tasks: the top kSuiteRunDepth per query
  double average = 0;
  double at(const std::string& name) const;  // the score of the task named so (an error if none)
};

// How the suite's texts are read: plain (a task's instruction before its queries, nothing
// before other texts) or in GritLM's embedding format (model/grit.h: the instruction inside
// "<|user|>\n...\n<|embed|>\n", every other text after "<|embed|>\n").
enum class TextFormat { plain, grit };

// Runs every task, embedding `batch_size` texts at a time; texts shared by a clustering and a
// kNN task are embedded once.
SuiteScores evaluate_embeddings(model::Embedder& embedder, const text::Tokenizer& tokenizer, const std::vector<EmbeddingTask>& tasks,
                                int64_t batch_size = 64, TextFormat format = TextFormat::plain);
SuiteScores evaluate_embeddings(retrieval::EmbeddingModel& model, const std::vector<EmbeddingTask>& tasks, int64_t batch_size = 64);

// Spearman x 100 between the cosine of each pair's embeddings and the gold scores.
double sts_spearman(model::Embedder& embedder, const text::Tokenizer& tokenizer, const std::vector<StsPair>& pairs,
                    int64_t batch_size = 64, const std::string& instruction = "");
// nDCG@10 x 100 of ranked hits (rows of the encoded documents) against the qrels.
double ndcg10(const std::vector<std::vector<retrieval::Hit>>& hits, const retrieval::EncodedCollection& encoded,
              const retrieval::Qrels& qrels);
// nDCG@10 x 100 of exact search over all the embedding's dimensions.
double exact_ndcg10(model::Embedder& embedder, const text::Tokenizer& tokenizer, const retrieval::Collection& collection,
                    int64_t batch_size = 64);

}  // namespace garden::eval
