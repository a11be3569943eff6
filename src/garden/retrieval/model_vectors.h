// Dense vectors from a garden embedding model (model/embedder.h) or a generative embedder
// (LLM2Vec-Gen, model/generative_embedder.h), so that indexes can be built and searched with
// --model instead of precomputed vector files. The index manifest
// records the model's fingerprint; searching with another model is refused.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "garden/core/json.h"
#include "garden/retrieval/collection.h"
#include "garden/retrieval/vectors.h"

namespace at {
class Tensor;
}
namespace garden::model {
struct LoadedEmbedder;
struct LoadedGenerativeEmbedder;
class Embedder;
}  // namespace garden::model
namespace garden::text {
class Tokenizer;
}

namespace garden::retrieval {

// An embedding model folder (or training run) loaded once, weights and tokenizer, and passed
// to the calls below; the header stays free of libtorch for the commands that include it.
// The folder's config.json says which kind it is.
class EmbeddingModel {
 public:
  explicit EmbeddingModel(const std::filesystem::path& dir);
  ~EmbeddingModel();
  EmbeddingModel(const EmbeddingModel&) = delete;
  EmbeddingModel& operator=(const EmbeddingModel&) = delete;
  const std::filesystem::path& path() const { return dir_; }
  int64_t dims() const;
  // The index metric that ranks as the model scores: "cosine", or "ip" for a model scored by
  // raw inner product (embed init --score dot, ANCE), whose vectors' lengths count.
  std::string metric() const;
  // What documents are read with: nothing for an embedder, the corpus instruction
  // (model::kDocumentInstruction) for a generative embedder, "<|embed|>\n" for a GritLM.
  std::string document_instruction() const;
  // What a query with this task instruction is read with: the instruction itself, or for a
  // GritLM its embedding format (model/grit.h: "<|user|>\n{instruction}\n<|embed|>\n").
  std::string query_instruction(const std::string& instruction) const;
  bool grit() const { return grit_; }
  // The embedder, for the commands that need one (the evaluation suite); an error naming
  // the folder when it holds a generative embedder.
  model::LoadedEmbedder& loaded();
  bool generative() const { return generative_ != nullptr; }
  model::LoadedGenerativeEmbedder& loaded_generative() { return *generative_; }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<model::LoadedEmbedder> loaded_;
  std::unique_ptr<model::LoadedGenerativeEmbedder> generative_;
  bool grit_ = false;
};

// texts -> [N, D] unit vectors, each read after `instruction` as it is (callers format a
// query's with query_instruction); a progress bar labelled `label` on stderr.
Matrix encode_with_model(EmbeddingModel& model, const std::vector<std::string>& texts, const std::string& instruction,
                         int64_t batch_size, const std::string& label);

// [N, D] float32 embeddings on the CPU as a Matrix.
Matrix to_matrix(const at::Tensor& embeddings);

// A collection's documents (title + text) and queries (`instruction` before each) embedded,
// with their ids; progress bars on stderr when `progress`.
struct EncodedCollection {
  Matrix docs, queries;
  std::vector<std::string> doc_ids, query_ids;
};
// `document_instruction` precedes every document (GritLM's "<|embed|>\n"; none for a plain embedder).
EncodedCollection encode_collection(model::Embedder& embedder, const text::Tokenizer& tokenizer, const Collection& collection,
                                    const std::string& instruction, int64_t batch_size, bool progress = false,
                                    const std::string& document_instruction = "");

// Encodes a collection's documents (with the model's document_instruction) and queries (with
// `instruction` before each) and ranks every document by cosine for every query, exactly: a
// TREC run of the top k.
Run exact_run_with_model(EmbeddingModel& model, const Collection& collection, const std::string& instruction, int64_t k,
                         int64_t batch_size);

// {"model": absolute path, "model_sha256": hash of its weights}.
Json model_fingerprint(const std::filesystem::path& model_dir);

// Throws unless `model_dir` is the model the index manifest names (by weights hash).
void refuse_other_model(const Json& manifest, const std::filesystem::path& index_dir, const std::filesystem::path& model_dir);

}  // namespace garden::retrieval
