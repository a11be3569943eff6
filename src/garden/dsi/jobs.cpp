#include "garden/dsi/jobs.h"

#include <fmt/core.h>

#include <chrono>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/model/embedder.h"
#include "garden/retrieval/trec.h"
#include "garden/train/run_folder.h"

namespace garden::dsi {

DocidMap build_docids(const DsiData& data, const BuildIdsOptions& o) {
  switch (o.scheme) {
    case DocidScheme::atomic: return atomic_docids(data.doc_ids, o.seed);
    case DocidScheme::naive: return naive_docids(data.doc_ids, o.seed);
    case DocidScheme::semantic: break;
  }
  auto semantic = o.semantic;
  semantic.seed = o.seed;
  if (o.embedder == "tfidf") {
    if (o.dims < 1) usage_error(fmt::format("--dims must be at least 1, got {}", o.dims));
    int64_t dims = 0;
    const auto vectors = tfidf_svd_vectors(data.documents, o.dims, &dims);
    return semantic_docids(data.doc_ids, vectors, dims, semantic);
  }
  auto loaded = model::load_embedder(train::model_folder(o.embedder));
  loaded.embedder->eval();
  const auto vectors = model::encode_texts(loaded.embedder, *loaded.tokenizer, data.documents, "", 64).contiguous();  // [N,D]
  return semantic_docids(data.doc_ids, {vectors.data_ptr<float>(), vectors.data_ptr<float>() + vectors.numel()}, vectors.size(1),
                         semantic);
}

TrainDsiOutcome train_dsi_request(const TrainDsiRequest& r) {
  const auto data = read_dsi_data(r.collection);
  const auto docids = read_docid_map(r.ids);
  check_docids_match(docids, data, r.ids.string());
  r.job.stream.validate();
  r.job.model.validate();
  r.job.train.validate("garden dsi train");
  train::claim_run_folder(r.out, "garden dsi train", r.resume);
  std::string tokenizer = r.tokenizer;
  if (tokenizer.empty()) {
    // A fresh run trains its own (replacing an earlier run's, which may have had another
    // --vocab); a resumed run keeps the one its checkpoints were trained with.
    tokenizer = (r.out / "tokenizer.model").string();
    if (!r.resume || !std::filesystem::exists(tokenizer)) {
      if (r.vocab < 100) usage_error(fmt::format("--vocab must be at least 100, got {}", r.vocab));
      train_dsi_tokenizer(data, r.vocab, tokenizer);
    }
  }
  torch::manual_seed(r.job.seed);
  DsiModel model = new_dsi_model(tokenizer, docids, r.job.model, r.job.stream);
  train::install_interrupt_handler();
  TrainDsiOutcome outcome;
  outcome.result = train_dsi(model, data.documents, data.train_queries, r.job, r.out, r.resume, r.quiet);
  outcome.model = train::model_folder(r.out);
  outcome.documents = static_cast<int64_t>(data.documents.size());
  outcome.training_queries = static_cast<int64_t>(data.train_queries.size());
  outcome.parameters = model.transformer->parameter_count();
  return outcome;
}

SearchDsiOutcome search_dsi_request(const SearchDsiRequest& r) {
  const auto start = std::chrono::steady_clock::now();
  auto model = load_dsi_model(train::model_folder(r.model));
  const auto data = read_dsi_data(r.collection, r.split);
  check_docids_match(model.docids, data, r.model.string());
  if (!r.run_out.empty())
    refuse_foreign_output_file(r.run_out, "a TREC run", [](const std::filesystem::path& p) { return !retrieval::read_trec_run(p).empty(); });
  const auto rankings = dsi_rankings(model, data.test, r.search);
  SearchDsiOutcome outcome;
  outcome.scores = score_rankings(rankings, data.test);
  outcome.queries = static_cast<int64_t>(data.test.size());
  if (r.memorisation) outcome.indexing_hits1 = indexing_hits1(model, data, r.search.beam);
  if (!r.run_out.empty()) {
    // Scores that fall with rank, for trec_eval (log-probabilities are not needed there).
    retrieval::Run run;
    for (size_t i = 0; i < rankings.size(); ++i) {
      auto& list = run[data.test[i].id];
      for (size_t rank = 0; rank < rankings[i].size(); ++rank)
        if (rankings[i][rank] >= 0)
          list.push_back({data.doc_ids[static_cast<size_t>(rankings[i][rank])], static_cast<double>(rankings[i].size() - rank)});
    }
    retrieval::write_trec_run(r.run_out, run, "garden-dsi");
  }
  outcome.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return outcome;
}

}  // namespace garden::dsi
