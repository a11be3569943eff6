#include "garden/dsi/evaluation.h"

#include <fmt/core.h>

#include <map>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/model/embedder.h"
#include "garden/retrieval/bm25.h"
#include "garden/retrieval/collection.h"
#include "garden/text/tokenizer.h"
#include "garden/train/embedder_training.h"

namespace garden::dsi {

DsiData read_dsi_data(const std::filesystem::path& collection, const std::string& split) {
  if (!std::filesystem::exists(collection / "qrels" / "train.tsv"))
    throw Error(fmt::format("{}: no qrels/train.tsv: DSI needs training queries (garden dsi synth-entities writes them)",
                            collection.string()));
  const auto test = retrieval::read_beir_collection(collection, split);
  const auto train_qrels = retrieval::read_qrels(collection / "qrels" / "train.tsv");
  DsiData data;
  std::map<std::string, int64_t> doc_index;
  for (const auto& d : test.corpus) {
    doc_index[d.id] = static_cast<int64_t>(data.doc_ids.size());
    data.doc_ids.push_back(d.id);
    data.documents.push_back(retrieval::document_text(d));
  }
  std::map<std::string, const retrieval::Query*> by_id;
  for (const auto& q : test.queries) by_id[q.id] = &q;
  std::set<int64_t> trained_docs;
  for (const auto& [qid, judged] : train_qrels) {
    const auto query = by_id.find(qid);
    if (query == by_id.end()) throw Error(fmt::format("{}: qrels/train.tsv names query {}, which queries.jsonl lacks", collection.string(), qid));
    for (const auto& [doc, grade] : judged) {
      const auto found = doc_index.find(doc);
      if (grade < 1) continue;
      if (found == doc_index.end())
        throw Error(fmt::format("{}: qrels/train.tsv names document {}, which corpus.jsonl lacks", collection.string(), doc));
      data.train_queries.emplace_back(query->second->text, found->second);
      trained_docs.insert(found->second);
    }
  }
  for (const auto& q : test.queries) {
    const auto judged = test.qrels.find(q.id);
    if (judged == test.qrels.end()) continue;
    if (train_qrels.count(q.id)) throw Error(fmt::format("{}: query {} is judged in both qrels/train.tsv and qrels/{}.tsv", collection.string(), q.id, split));
    TestQuery t{q.id, q.text, {}, false};
    for (const auto& [doc, grade] : judged->second)
      if (grade >= 1) t.relevant.insert(doc_index.at(doc));
    if (t.relevant.empty()) continue;
    for (const int64_t doc : t.relevant) t.seen = t.seen || trained_docs.count(doc) > 0;
    data.test.push_back(std::move(t));
  }
  if (data.test.empty()) throw Error(fmt::format("{}: qrels/{}.tsv judges no query relevant to any document", collection.string(), split));
  return data;
}

void check_docids_match(const DocidMap& docids, const DsiData& data, const std::string& where) {
  if (docids.doc_ids != data.doc_ids)
    throw Error(fmt::format("{}: the docid map lists {} documents that are not the collection's {} in its order (build the ids "
                            "from this collection)",
                            where, docids.doc_ids.size(), data.doc_ids.size()));
}

Json HitsRow::to_json() const { return {{"queries", queries}, {"hits1", hits1}, {"hits10", hits10}}; }

Json DsiScores::to_json() const {
  return {{"all", all.to_json()}, {"seen", seen.to_json()}, {"indexed_only", indexed_only.to_json()}, {"invalid_share", invalid_share}};
}

double hits_at(const std::vector<Ranking>& ranked, const std::vector<TestQuery>& queries, int64_t k) {
  if (ranked.size() != queries.size()) throw Error(fmt::format("Hits@k: {} rankings for {} queries", ranked.size(), queries.size()));
  if (queries.empty()) return 0;
  int64_t hit = 0;
  for (size_t i = 0; i < queries.size(); ++i) {
    const auto& list = ranked[i];
    for (size_t r = 0; r < list.size() && static_cast<int64_t>(r) < k; ++r)
      if (queries[i].relevant.count(list[r])) {
        ++hit;
        break;
      }
  }
  return static_cast<double>(hit) / static_cast<double>(queries.size());
}

DsiScores score_rankings(const std::vector<Ranking>& ranked, const std::vector<TestQuery>& queries) {
  if (ranked.size() != queries.size()) throw Error(fmt::format("DSI scores: {} rankings for {} queries", ranked.size(), queries.size()));
  const auto row = [&](bool pick_seen, bool pick_unseen) {
    std::vector<Ranking> r;
    std::vector<TestQuery> q;
    for (size_t i = 0; i < queries.size(); ++i)
      if ((queries[i].seen && pick_seen) || (!queries[i].seen && pick_unseen)) {
        r.push_back(ranked[i]);
        q.push_back(queries[i]);
      }
    return HitsRow{static_cast<int64_t>(q.size()), hits_at(r, q, 1), hits_at(r, q, 10)};
  };
  DsiScores s{row(true, true), row(true, false), row(false, true), 0};
  int64_t returned = 0, invalid = 0;
  for (const auto& list : ranked)
    for (const int64_t doc : list) {
      ++returned;
      invalid += doc < 0 ? 1 : 0;
    }
  s.invalid_share = returned > 0 ? static_cast<double>(invalid) / static_cast<double>(returned) : 0;
  return s;
}

std::vector<Ranking> dsi_rankings(DsiModel& model, const std::vector<TestQuery>& queries, const SearchOptions& options) {
  std::vector<std::vector<int64_t>> inputs;
  for (const auto& q : queries) inputs.push_back(query_input(model, q.text));
  std::vector<Ranking> out;
  for (const auto& list : dsi_search(model, inputs, false, options)) {
    Ranking r;
    for (const auto& entry : list) r.push_back(entry.doc);
    out.push_back(std::move(r));
  }
  return out;
}

double indexing_hits1(DsiModel& model, const DsiData& data, int64_t beam) {
  std::vector<std::vector<int64_t>> inputs;
  for (const auto& text : data.documents) inputs.push_back(document_input(model, text));
  SearchOptions options;
  options.beam = beam;
  const auto results = dsi_search(model, inputs, true, options);
  int64_t hit = 0;
  for (size_t i = 0; i < results.size(); ++i) hit += !results[i].empty() && results[i][0].doc == static_cast<int64_t>(i) ? 1 : 0;
  return static_cast<double>(hit) / static_cast<double>(results.size());
}

std::vector<Ranking> bm25_rankings(const std::filesystem::path& collection, const DsiData& data, int64_t k,
                                   const std::filesystem::path& scratch) {
  retrieval::build_bm25_index(collection, scratch, retrieval::Bm25Options{});
  const retrieval::Bm25Index index(scratch);
  std::map<std::string, int64_t> doc_index;
  for (size_t i = 0; i < data.doc_ids.size(); ++i) doc_index[data.doc_ids[i]] = static_cast<int64_t>(i);
  std::vector<Ranking> out;
  for (const auto& q : data.test) {
    Ranking r;
    for (const auto& hit : index.search(q.text, k)) r.push_back(doc_index.at(hit.doc_id));
    out.push_back(std::move(r));
  }
  return out;
}

model::Embedder new_dual_encoder(int64_t vocab, const DualEncoderJob& job) {
  model::TransformerConfig config;
  config.vocab = vocab;
  config.d_model = job.model.d_model;
  config.n_layers = job.model.layers;
  config.n_heads = job.model.heads;
  config.d_ff = job.model.d_ff;
  config.max_seq = job.max_tokens;
  config.validate();
  model::EmbedderConfig embedder_config;  // mean pooling, bidirectional
  embedder_config.max_tokens = job.max_tokens;
  return model::Embedder(model::Transformer(config), embedder_config);
}

std::vector<Ranking> dual_encoder_rankings(model::Embedder& embedder, const std::string& tokenizer_spec, const DsiData& data,
                                           const DualEncoderJob& job, int64_t k, const std::filesystem::path& out, bool quiet) {
  const auto tokenizer = text::load_tokenizer(tokenizer_spec);
  std::vector<text::TextPair> pairs;
  for (const auto& [query, doc] : data.train_queries)
    pairs.push_back({query, data.documents[static_cast<size_t>(doc)], data.doc_ids[static_cast<size_t>(doc)], {}});
  train::EmbedObjectiveConfig objective_config;  // in-batch negatives, temperature 0.05
  auto objective = train::contrastive_objective(embedder, *tokenizer, pairs, {}, objective_config, job.train, tokenizer_spec);
  train::Trainer trainer(job.train, out);
  trainer.quiet = quiet;
  trainer.tokenizer_spec = tokenizer_spec;
  trainer.fit(*embedder, objective, false);

  embedder->eval();
  const auto docs = model::encode_texts(embedder, *tokenizer, data.documents, "", 64);  // [N,D] unit rows
  std::vector<std::string> texts;
  for (const auto& q : data.test) texts.push_back(q.text);
  const auto queries = model::encode_texts(embedder, *tokenizer, texts, "", 64);  // [Q,D]
  const auto top = std::get<1>(torch::matmul(queries, docs.t()).topk(std::min<int64_t>(k, docs.size(0)), 1));  // [Q,k]
  std::vector<Ranking> rankings;
  for (int64_t i = 0; i < top.size(0); ++i) {
    const auto row = top[i].contiguous();
    rankings.emplace_back(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + row.numel());
  }
  return rankings;
}

void train_dsi_tokenizer(const DsiData& data, int64_t vocab, const std::filesystem::path& out) {
  const auto text_file = std::filesystem::path(out.string() + ".txt");
  std::string lines;
  for (const auto& d : data.documents) lines += d + "\n";
  for (const auto& [query, doc] : data.train_queries) lines += query + "\n";
  write_file_atomic(text_file, lines);
  text::TokenizerTrainOptions options;
  options.inputs = {text_file};
  options.vocab = vocab;
  text::train_tokenizer(options, out);
  std::filesystem::remove(text_file);
}

}  // namespace garden::dsi
