#include "garden/retrieval/model_vectors.h"

#include <fmt/core.h>

#include <algorithm>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/core/progress.h"
#include "garden/model/embedder.h"
#include "garden/model/generative_embedder.h"
#include "garden/model/grit.h"
#include "garden/retrieval/dense.h"
#include "garden/train/run_folder.h"

namespace garden::retrieval {

EmbeddingModel::EmbeddingModel(const std::filesystem::path& dir) : dir_(dir) {
  const auto folder = train::model_folder(dir);
  if (model::is_generative_embedder_folder(folder))
    generative_ = std::make_unique<model::LoadedGenerativeEmbedder>(model::load_generative_embedder(folder));
  else
    loaded_ = std::make_unique<model::LoadedEmbedder>(model::load_embedder(folder));
  grit_ = model::is_grit_folder(folder);
}

EmbeddingModel::~EmbeddingModel() = default;

int64_t EmbeddingModel::dims() const {
  return generative_ ? generative_->model->config().embedding_dims : loaded_->embedder->dims();
}

std::string EmbeddingModel::metric() const {
  return generative_ || loaded_->embedder->config().unit_vectors ? "cosine" : "ip";
}

std::string EmbeddingModel::document_instruction() const {
  if (grit_) return model::grit_embedding_prefix("");
  return generative_ ? model::kDocumentInstruction : "";
}

std::string EmbeddingModel::query_instruction(const std::string& instruction) const {
  return grit_ ? model::grit_embedding_prefix(instruction) : instruction;
}

model::LoadedEmbedder& EmbeddingModel::loaded() {
  if (generative_)
    throw Error(fmt::format("{} is a generative embedder (LLM2Vec-Gen): this command reads embedders; embed encode, index build "
                            "and search, eval retrieval and llm2vec-gen decode read it",
                            dir_.string()));
  return *loaded_;
}

namespace {

// texts -> [N, D] unit vectors; a progress bar labelled `label` on stderr unless it is empty.
Matrix encode_matrix(model::Embedder& embedder, const text::Tokenizer& tokenizer, const std::vector<std::string>& texts,
                     const std::string& instruction, int64_t batch_size, const std::string& label) {
  if (label.empty()) return to_matrix(model::encode_texts(embedder, tokenizer, texts, instruction, batch_size));
  Progress progress(label, static_cast<int64_t>(texts.size()), "texts");
  const auto vectors = model::encode_texts(embedder, tokenizer, texts, instruction, batch_size, [&](int64_t done) { progress.update(done); });
  progress.finish();
  return to_matrix(vectors);
}

}  // namespace

Matrix to_matrix(const at::Tensor& embeddings) {
  const auto flat = embeddings.contiguous();
  Matrix m{flat.size(0), flat.size(1), {}};
  m.data.assign(flat.data_ptr<float>(), flat.data_ptr<float>() + flat.numel());
  return m;
}

Matrix encode_with_model(EmbeddingModel& model, const std::vector<std::string>& texts, const std::string& instruction,
                         int64_t batch_size, const std::string& label) {
  if (!model.generative()) return encode_matrix(model.loaded().embedder, *model.loaded().tokenizer, texts, instruction, batch_size, label);
  auto& loaded = model.loaded_generative();
  const auto tokenizer = text::load_tokenizer(loaded.tokenizer_spec);
  if (label.empty()) return to_matrix(model::encode_generative_texts(loaded.model, *tokenizer, texts, instruction, batch_size));
  Progress progress(label, static_cast<int64_t>(texts.size()), "texts");
  const auto vectors =
      model::encode_generative_texts(loaded.model, *tokenizer, texts, instruction, batch_size, [&](int64_t done) { progress.update(done); });
  progress.finish();
  return to_matrix(vectors);
}

EncodedCollection encode_collection(model::Embedder& embedder, const text::Tokenizer& tokenizer, const Collection& collection,
                                    const std::string& instruction, int64_t batch_size, bool progress,
                                    const std::string& document_instruction) {
  EncodedCollection e;
  std::vector<std::string> doc_texts, query_texts;
  for (const auto& d : collection.corpus) {
    e.doc_ids.push_back(d.id);
    doc_texts.push_back(document_text(d));
  }
  for (const auto& q : collection.queries) {
    e.query_ids.push_back(q.id);
    query_texts.push_back(q.text);
  }
  e.docs = encode_matrix(embedder, tokenizer, doc_texts, document_instruction, batch_size, progress ? "documents" : "");
  e.queries = encode_matrix(embedder, tokenizer, query_texts, instruction, batch_size, progress ? "queries" : "");
  return e;
}

Run exact_run_with_model(EmbeddingModel& model, const Collection& collection, const std::string& instruction, int64_t k,
                         int64_t batch_size) {
  if (!model.generative()) {
    const auto e = encode_collection(model.loaded().embedder, *model.loaded().tokenizer, collection, model.query_instruction(instruction),
                                     batch_size, true, model.document_instruction());
    return hits_to_run(exact_search(e.docs, e.queries, k), e.query_ids, e.doc_ids);
  }
  std::vector<std::string> doc_ids, doc_texts, query_ids, query_texts;
  for (const auto& d : collection.corpus) {
    doc_ids.push_back(d.id);
    doc_texts.push_back(document_text(d));
  }
  for (const auto& q : collection.queries) {
    query_ids.push_back(q.id);
    query_texts.push_back(q.text);
  }
  const auto docs = encode_with_model(model, doc_texts, model.document_instruction(), batch_size, "documents");
  const auto queries = encode_with_model(model, query_texts, instruction, batch_size, "queries");
  return hits_to_run(exact_search(docs, queries, k), query_ids, doc_ids);
}

Json model_fingerprint(const std::filesystem::path& model_dir) {
  const auto weights = train::model_folder(model_dir) / "model.safetensors";
  if (!std::filesystem::exists(weights)) throw Error(fmt::format("embedding model {}: no model.safetensors", model_dir.string()));
  return {{"model", std::filesystem::absolute(model_dir).string()}, {"model_sha256", sha256_file_hex(weights)}};
}

void refuse_other_model(const Json& manifest, const std::filesystem::path& index_dir, const std::filesystem::path& model_dir) {
  const std::string built_with = manifest.value("model_sha256", std::string());
  if (built_with.empty())
    throw Error(fmt::format("index {} was built from vector files, not a model: search it with --query-vectors", index_dir.string()));
  if (model_fingerprint(model_dir).at("model_sha256").get<std::string>() != built_with)
    throw Error(fmt::format("index {} was built with the model {} and --model {} has other weights: rebuild the index or "
                            "search with that model",
                            index_dir.string(), manifest.value("model", std::string("?")), model_dir.string()));
}

}  // namespace garden::retrieval
