#include "garden/retrieval/negative_training.h"

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <random>
#include <unordered_set>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/retrieval/bm25.h"
#include "garden/train/embedder_training.h"
#include "garden/train/objectives/contrastive.h"
#include "garden/train/run_folder.h"

namespace fs = std::filesystem;

namespace garden::retrieval {

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

const char* source_name(NegativeSource source) {
  switch (source) {
    case NegativeSource::none: return "inbatch";
    case NegativeSource::random: return "random";
    case NegativeSource::bm25: return "bm25";
    case NegativeSource::ance: return "ance";
    case NegativeSource::hardest_in_batch: return "hardest";
  }
  throw Error("unknown negative source");
}

}  // namespace

NegativeSampling NegativeSampling::parse(const std::string& name) {
  NegativeSampling s;
  std::string base = name;
  const std::string suffix = "+inbatch";
  const bool mixed = base.size() > suffix.size() && base.compare(base.size() - suffix.size(), suffix.size(), suffix) == 0;
  if (mixed) base.resize(base.size() - suffix.size());
  if (base == "inbatch" && !mixed) return s;
  if (base == "hardest" && !mixed) {
    s.source = NegativeSource::hardest_in_batch;
    s.in_batch = false;
    return s;
  }
  if (base == "random") s.source = NegativeSource::random;
  else if (base == "bm25") s.source = NegativeSource::bm25;
  else if (base == "ance") s.source = NegativeSource::ance;
  else usage_error(fmt::format("--negatives must be inbatch, hardest, random, bm25 or ance (the last three optionally with +inbatch, e.g. "
                               "bm25+inbatch), not '{}'", name));
  s.in_batch = mixed;
  return s;
}

std::string NegativeSampling::name() const {
  if (source == NegativeSource::none) return "inbatch";
  return std::string(source_name(source)) + (in_batch ? "+inbatch" : "");
}

int64_t NegativeSampling::depth_for(int64_t corpus_size) const {
  if (depth > 0) return depth;
  return std::clamp<int64_t>(corpus_size / 40, 10, 200);
}

void NegativeSampling::validate() const {
  if (depth < 0) usage_error(fmt::format("--depth must be >= 0 (0: scaled to the corpus), not {}", depth));
  if (per_query < 1) usage_error(fmt::format("--per-query must be at least 1, not {}", per_query));
  if (refresh_every < 1) usage_error(fmt::format("--refresh-every must be at least 1, not {}", refresh_every));
  if (lag < 0 || lag >= refresh_every)
    usage_error(fmt::format("--ann-lag must be in [0, --refresh-every) = [0, {}), not {}: one refresh at a time", refresh_every, lag));
  if (chunk_factor < 1) usage_error(fmt::format("--chunk-factor must be at least 1, not {}", chunk_factor));
  if (temperature < 0) usage_error(fmt::format("--temperature must be > 0 (0: by the embedder's score), not {}", temperature));
}

Json NegativeSampling::to_json() const {
  return {{"negatives", name()},         {"loss", in_batch ? "infonce" : "pairwise-nll"},
          {"depth", depth},              {"per_query", per_query},
          {"refresh_every", refresh_every}, {"lag", lag},
          {"chunk_factor", chunk_factor},  {"temperature", temperature}};
}

std::string RetrievalTrainingSet::describe() const {
  return fmt::format("{} documents, {} training queries, {} judged pairs", corpus.size(), queries.size(), examples.size());
}

RetrievalTrainingSet training_set_from_collection(const Collection& collection, const std::string& collection_name) {
  RetrievalTrainingSet set;
  std::map<std::string, int64_t> row_of;
  for (const auto& doc : collection.corpus) {
    row_of[doc.id] = static_cast<int64_t>(set.corpus.size());
    set.corpus.push_back(document_text(doc));
  }
  for (const auto& query : collection.queries) {
    const auto judged = collection.qrels.find(query.id);
    if (judged == collection.qrels.end()) continue;
    std::vector<int64_t> relevant;
    for (const auto& [doc_id, grade] : judged->second)
      if (grade > 0) relevant.push_back(row_of.at(doc_id));  // the reader dropped judgements of unknown documents
    if (relevant.empty()) continue;
    const auto q = static_cast<int64_t>(set.queries.size());
    set.queries.push_back(query.text);
    for (int64_t row : relevant) set.examples.push_back({q, row, {}});
    set.positives.push_back(std::move(relevant));
  }
  if (set.examples.empty()) usage_error(fmt::format("{}: no query has a relevant judged document in the training split", collection_name));
  if (set.corpus.size() < 2) usage_error(fmt::format("{}: a corpus of {} documents has nothing to draw negatives from", collection_name, set.corpus.size()));
  return set;
}

std::vector<std::vector<int64_t>> bm25_ranked(const RetrievalTrainingSet& set, int64_t depth, const fs::path& scratch, bool quiet) {
  const auto corpus_dir = scratch / "corpus";
  fs::create_directories(corpus_dir);
  std::string lines;
  for (size_t i = 0; i < set.corpus.size(); ++i) lines += Json{{"_id", std::to_string(i)}, {"title", ""}, {"text", set.corpus[i]}}.dump() + "\n";
  write_file_atomic(corpus_dir / "corpus.jsonl", lines);
  build_bm25_index(corpus_dir, scratch / "index", Bm25Options{}, !quiet);
  const Bm25Index index(scratch / "index");
  std::vector<std::vector<int64_t>> ranked;
  for (const auto& query : set.queries) {
    std::vector<int64_t> rows;
    for (const auto& hit : index.search(query, depth)) rows.push_back(std::stoll(hit.doc_id));
    ranked.push_back(std::move(rows));
  }
  return ranked;
}

std::vector<std::vector<int64_t>> dense_ranked(model::Embedder& embedder, const text::Tokenizer& tokenizer, const RetrievalTrainingSet& set,
                                               int64_t depth, int64_t batch_size) {
  const auto to_matrix = [](const torch::Tensor& t) {
    const auto flat = t.contiguous();
    return Matrix{flat.size(0), flat.size(1), std::vector<float>(flat.data_ptr<float>(), flat.data_ptr<float>() + flat.numel())};
  };
  const auto docs = to_matrix(model::encode_texts(embedder, tokenizer, set.corpus, "", batch_size));
  const auto queries = to_matrix(model::encode_texts(embedder, tokenizer, set.queries, "", batch_size));
  return flat_top_k(docs, queries, depth);
}

// ---- the supply of negative tables ----

struct NegativeSupply::Pending {
  int64_t source_step = 0;
  std::future<NegativeTable> table;
  double seconds = 0;  // the worker's own time, written before the future is ready
};

NegativeSupply::NegativeSupply(model::Embedder& embedder, const text::Tokenizer& tokenizer, const RetrievalTrainingSet& set,
                               NegativeSampling sampling, fs::path run, uint64_t seed, bool quiet)
    : embedder_(embedder), tokenizer_(tokenizer), set_(set), sampling_(sampling), dir_(run / "negatives"), seed_(seed), quiet_(quiet),
      depth_(sampling.depth_for(static_cast<int64_t>(set.corpus.size()))) {
  sampling_.validate();
  if (sampling_.source != NegativeSource::bm25) return;
  fs::create_directories(dir_);
  const auto path = dir_ / "bm25.jsonl";
  if (fs::exists(path)) {  // a resumed run: the same table (the draw is seeded, but BM25's index need not be rebuilt)
    auto table = read_negative_table(path);
    if (table.source != "bm25" || table.negatives.size() != set_.queries.size() || table.depth != depth_ || table.per_query != sampling_.per_query)
      throw Error(fmt::format("{}: a BM25 table of another collection or depth; resume with the run's settings", path.string()));
    bm25_ = std::make_shared<const NegativeTable>(std::move(table));
    return;
  }
  const auto start = std::chrono::steady_clock::now();
  const auto ranked = bm25_ranked(set_, depth_, dir_ / "bm25", quiet_);
  auto table = sample_table("bm25", 0, ranked, set_.positives, depth_, sampling_.per_query, static_cast<int64_t>(set_.corpus.size()), seed_);
  write_negative_table(path, table);
  bm25_ = std::make_shared<const NegativeTable>(std::move(table));
  if (!quiet_) fmt::print(stderr, "BM25 negatives: top {} of {} documents for {} queries ({:.1f} s)\n", depth_, set_.corpus.size(), set_.queries.size(), seconds_since(start));
}

NegativeSupply::~NegativeSupply() {
  // A refresh still running when training stops is waited for: it holds references to the
  // tokenizer and the training set.
  if (pending_ && pending_->table.valid()) pending_->table.wait();
}

fs::path NegativeSupply::table_path(int64_t source_step) const { return dir_ / fmt::format("ance-step{:07d}.jsonl", source_step); }
fs::path NegativeSupply::snapshot_path(int64_t source_step) const { return dir_ / fmt::format("ance-step{:07d}.safetensors", source_step); }

TensorMap NegativeSupply::snapshot() const {
  TensorMap copy;
  for (const auto& [name, tensor] : module_tensors(*embedder_)) copy[name] = tensor.detach().clone();
  return copy;
}

NegativeTable NegativeSupply::build_from(const TensorMap& weights, int64_t source_step, const std::shared_ptr<const NegativeTable>& previous) const {
  const auto device = embedder_->backbone->token_embedding->weight.device();
  model::Embedder copy(model::Transformer(embedder_->backbone->config()), embedder_->config());
  load_module_tensors(*copy, weights, dir_ / fmt::format("weights of step {}", source_step));
  copy->to(device);
  // Which queries this refresh re-draws: all at first, then chunk (k - 1) mod c of refresh k.
  std::vector<int64_t> chosen;
  const int64_t c = previous ? sampling_.chunk_factor : 1;
  const int64_t chunk = c > 1 ? (source_step / sampling_.refresh_every - 1) % c : 0;
  for (int64_t q = 0; q < static_cast<int64_t>(set_.queries.size()); ++q)
    if (q % c == chunk) chosen.push_back(q);
  RetrievalTrainingSet subset;  // the chosen queries against the whole corpus
  std::vector<std::vector<int64_t>> positives;
  for (int64_t q : chosen) {
    subset.queries.push_back(set_.queries[static_cast<size_t>(q)]);
    positives.push_back(set_.positives[static_cast<size_t>(q)]);
  }
  subset.corpus = set_.corpus;
  const auto ranked = dense_ranked(copy, tokenizer_, subset, depth_);
  NegativeTable table{"ance", source_step, depth_, sampling_.per_query, static_cast<int64_t>(set_.corpus.size()), {}};
  table.negatives = previous ? previous->negatives : std::vector<std::vector<int64_t>>(set_.queries.size());
  for (size_t i = 0; i < chosen.size(); ++i) {
    const auto& list = ranked[i];
    table.negatives[static_cast<size_t>(chosen[i])] = sample_negatives(list, positives[i], sampling_.per_query, negative_draw_seed(seed_, source_step, chosen[i]));
  }
  write_negative_table(table_path(source_step), table);
  return table;
}

void NegativeSupply::activate(std::shared_ptr<const NegativeTable> table, int64_t step) {
  active_ = std::move(table);
  stats_.index_age = step - 1 - active_->source_step;
}

NegativeTable NegativeSupply::saved_table(int64_t source_step) const {
  auto table = read_negative_table(table_path(source_step));
  if (table.source != "ance" || table.source_step != source_step || table.negatives.size() != set_.queries.size() || table.depth != depth_ ||
      table.per_query != sampling_.per_query || table.corpus_size != static_cast<int64_t>(set_.corpus.size()))
    throw Error(fmt::format("{}: a table of another collection or other settings; resume with the run's settings", table_path(source_step).string()));
  return table;
}

std::shared_ptr<const NegativeTable> NegativeSupply::table_of(int64_t source_step, int64_t current_step,
                                                              const std::shared_ptr<const NegativeTable>& previous) {
  if (fs::exists(table_path(source_step))) return std::make_shared<const NegativeTable>(saved_table(source_step));
  // Rebuilt: from the current weights when they are the source's, else from its saved snapshot.
  TensorMap weights;
  if (source_step == current_step - 1) weights = snapshot();
  else if (fs::exists(snapshot_path(source_step))) weights = load_safetensors(snapshot_path(source_step));
  else throw Error(fmt::format("{}: neither the negatives of step {} nor the weights they came from; start the run again", dir_.string(), source_step));
  const auto start = std::chrono::steady_clock::now();
  auto table = std::make_shared<const NegativeTable>(build_from(weights, source_step, previous));
  stats_.last_refresh_seconds = seconds_since(start);
  stats_.refresh_seconds += stats_.last_refresh_seconds;
  ++stats_.refreshes;
  return table;
}

void NegativeSupply::launch(int64_t source_step, TensorMap weights) {
  pending_ = std::make_unique<Pending>();
  pending_->source_step = source_step;
  if (fs::exists(table_path(source_step))) {  // finished before the interruption
    std::promise<NegativeTable> done;
    done.set_value(saved_table(source_step));
    pending_->table = done.get_future();
    return;
  }
  auto previous = active_;
  pending_->table = std::async(std::launch::async, [this, weights = std::move(weights), source_step, previous, seconds = &pending_->seconds] {
    torch::NoGradGuard no_grad;
    const auto start = std::chrono::steady_clock::now();
    auto table = build_from(weights, source_step, previous);
    *seconds = seconds_since(start);
    return table;
  });
}

// The refresh k (k >= 1) snapshots the weights after step k x R and is used from step
// k x R + lag + 1 on; the initial table (k = 0) comes from the starting weights.
void NegativeSupply::start(int64_t step) {
  fs::create_directories(dir_);
  const int64_t r = sampling_.refresh_every, lag = sampling_.lag, done = step - 1;
  // The latest refresh already in use at `step`, and the one in flight, if any.
  int64_t k = done / r;
  if (k > 0 && k * r + lag > done) --k;
  std::shared_ptr<const NegativeTable> previous;
  if (k > 0 && sampling_.chunk_factor > 1) previous = table_of((k - 1) * r, step, nullptr);  // carried rows come from it
  activate(table_of(k * r, step, previous), step);
  if (!quiet_) fmt::print(stderr, "ANCE negatives: top {} of {} documents, table of step {}\n", depth_, set_.corpus.size(), active_->source_step);
  const int64_t next = (k + 1) * r;
  if (lag > 0 && next <= done) {  // a refresh was in flight at the checkpoint
    if (next == done) {
      auto weights = snapshot();
      save_safetensors(snapshot_path(next), weights);
      launch(next, std::move(weights));
    } else {
      if (!fs::exists(snapshot_path(next)) && !fs::exists(table_path(next)))
        throw Error(fmt::format("{}: the refresh of step {} has neither its table nor its weights; start the run again", dir_.string(), next));
      launch(next, fs::exists(table_path(next)) ? TensorMap{} : load_safetensors(snapshot_path(next)));
    }
  }
}

std::shared_ptr<const NegativeTable> NegativeSupply::table_for_step(int64_t step) {
  if (sampling_.source == NegativeSource::bm25) return bm25_;
  if (sampling_.source != NegativeSource::ance) return nullptr;
  if (next_step_ == 0) {
    start(step);
    next_step_ = step + 1;
    return active_;
  }
  if (step < next_step_) return active_;  // another micro-batch of the same step
  if (step != next_step_) throw Error(fmt::format("negative supply: step {} after step {}", step, next_step_ - 1));
  next_step_ = step + 1;
  const int64_t done = step - 1;
  if (pending_ && pending_->source_step + sampling_.lag == done) {
    const auto wait_start = std::chrono::steady_clock::now();
    auto table = std::make_shared<const NegativeTable>(pending_->table.get());
    stats_.wait_seconds += seconds_since(wait_start);
    stats_.last_refresh_seconds = pending_->seconds;
    stats_.refresh_seconds += stats_.last_refresh_seconds;
    ++stats_.refreshes;
    pending_.reset();
    activate(std::move(table), step);
  } else {
    stats_.index_age = done - active_->source_step;
  }
  if (done > 0 && done % sampling_.refresh_every == 0) {
    if (sampling_.lag == 0) {
      const auto wait_start = std::chrono::steady_clock::now();
      activate(table_of(done, step, active_), step);
      stats_.wait_seconds += seconds_since(wait_start);
    } else {
      auto weights = snapshot();
      save_safetensors(snapshot_path(done), weights);
      launch(done, std::move(weights));
    }
  }
  return active_;
}

// ---- diagnostics ----

namespace {

std::vector<torch::Tensor> last_layer_parameters(model::Embedder& embedder) {
  std::vector<torch::Tensor> params;
  if (embedder->projection) {
    for (const auto& p : embedder->projection->parameters()) params.push_back(p);
    if (embedder->projection_norm)
      for (const auto& p : embedder->projection_norm->parameters()) params.push_back(p);
    return params;
  }
  auto blocks = embedder->backbone->blocks;
  return blocks[blocks->size() - 1]->parameters();
}

torch::Tensor embed_texts(model::Embedder& embedder, const text::Tokenizer& tokenizer, const std::vector<std::string>& texts, int64_t* tokens) {
  const auto device = embedder->backbone->token_embedding->weight.device();
  const auto batch = model::make_embedding_batch(tokenizer, texts, "", embedder->config().max_tokens, embedder->config().case_folding);
  if (tokens) *tokens += batch.attention_mask.sum().item<int64_t>();
  return embedder->forward(batch.tokens.to(device), batch.attention_mask.to(device), batch.pool_mask.to(device));
}

const std::string& positive_text(const RetrievalTrainingSet& set, const RetrievalTrainingSet::Example& e) {
  return e.positive_text.empty() ? set.corpus[static_cast<size_t>(e.positive)] : e.positive_text;
}

// A document row other than the query's positives, uniform over the corpus.
int64_t random_negative(const RetrievalTrainingSet& set, int64_t query, std::mt19937_64& rng) {
  const auto& positives = set.positives[static_cast<size_t>(query)];
  if (positives.size() >= set.corpus.size()) throw Error("random negatives: every document is relevant to a training query");
  std::uniform_int_distribution<int64_t> pick(0, static_cast<int64_t>(set.corpus.size()) - 1);
  for (;;) {
    const int64_t row = pick(rng);
    if (std::find(positives.begin(), positives.end(), row) == positives.end()) return row;
  }
}

}  // namespace

std::vector<NegativeDiagnostics> negative_diagnostics(model::Embedder& embedder, const text::Tokenizer& tokenizer,
                                                      const RetrievalTrainingSet& set, const std::vector<int64_t>& examples,
                                                      const std::shared_ptr<const NegativeTable>& bm25,
                                                      const std::shared_ptr<const NegativeTable>& ance, uint64_t seed) {
  if (examples.size() < 2) throw Error("negative diagnostics: need at least two examples");
  const bool was_training = embedder->is_training();
  embedder->eval();  // no dropout: the gradient of the weights as they are
  std::vector<std::pair<std::string, std::vector<int64_t>>> types;  // negative row per sampled example
  std::vector<int64_t> in_batch;
  for (size_t i = 0; i < examples.size(); ++i) in_batch.push_back(set.examples[static_cast<size_t>(examples[(i + 1) % examples.size()])].positive);
  types.emplace_back("inbatch", in_batch);
  std::mt19937_64 rng(seed);
  for (const auto& [name, table] : {std::pair{std::string("bm25"), bm25}, std::pair{std::string("ance"), ance}}) {
    if (!table) continue;
    std::vector<int64_t> rows;
    for (int64_t e : examples) {
      const auto query = set.examples[static_cast<size_t>(e)].query;
      const auto& negatives = table->negatives[static_cast<size_t>(query)];
      rows.push_back(negatives.empty() ? random_negative(set, query, rng)
                                       : negatives[std::uniform_int_distribution<size_t>(0, negatives.size() - 1)(rng)]);
    }
    types.emplace_back(name, rows);
  }
  std::vector<std::string> queries, positives;
  for (int64_t e : examples) {
    const auto& ex = set.examples[static_cast<size_t>(e)];
    queries.push_back(set.queries[static_cast<size_t>(ex.query)]);
    positives.push_back(positive_text(set, ex));
  }
  const auto q = embed_texts(embedder, tokenizer, queries, nullptr);
  const auto p = embed_texts(embedder, tokenizer, positives, nullptr);
  const auto params = last_layer_parameters(embedder);
  std::vector<NegativeDiagnostics> out;
  for (const auto& [name, rows] : types) {
    std::vector<std::string> negatives;
    std::vector<bool> counted;
    for (size_t i = 0; i < rows.size(); ++i) {
      negatives.push_back(set.corpus[static_cast<size_t>(rows[i])]);
      const auto& judged = set.positives[static_cast<size_t>(set.examples[static_cast<size_t>(examples[i])].query)];
      counted.push_back(std::find(judged.begin(), judged.end(), rows[i]) == judged.end());  // an in-batch "negative" may be relevant
    }
    const auto n = embed_texts(embedder, tokenizer, negatives, nullptr);
    const auto losses = train::pairwise_nll(q, p, n);
    NegativeDiagnostics d{name, 0, 0};
    int64_t used = 0;
    for (int64_t i = 0; i < losses.size(0); ++i) {
      if (!counted[static_cast<size_t>(i)]) continue;
      const auto grads = torch::autograd::grad({losses[i]}, params, {}, /*retain_graph=*/true, /*create_graph=*/false, /*allow_unused=*/true);
      double squared = 0;
      for (const auto& g : grads)
        if (g.defined()) squared += g.pow(2).sum().item<double>();
      d.loss += losses[i].item<double>();
      d.grad_norm += std::sqrt(squared);
      ++used;
    }
    if (used > 0) {
      d.loss /= static_cast<double>(used);
      d.grad_norm /= static_cast<double>(used);
    }
    out.push_back(d);
  }
  embedder->train(was_training);
  return out;
}

// ---- training ----

RetrieverTrainingResult train_retriever(model::Embedder& embedder, const text::Tokenizer& tokenizer, const std::string& tokenizer_spec,
                                        const RetrievalTrainingSet& set, const NegativeSampling& sampling, const train::TrainConfig& train,
                                        const fs::path& out, bool resume, bool quiet) {
  sampling.validate();
  const bool from_batch = sampling.source == NegativeSource::none || sampling.source == NegativeSource::hardest_in_batch;
  if (from_batch && train.batch < 2)
    usage_error(fmt::format("--negatives {} needs a batch of at least 2 (no other positives otherwise)", sampling.name()));
  if (set.examples.empty()) usage_error("retriever training: no judged pairs to train on");
  if (train.bf16) embedder->set_bf16(true);
  fs::create_directories(out);
  // A fresh run replaces an earlier run's tables in this folder (a resume keeps them).
  if (!resume) fs::remove_all(out / "negatives");
  NegativeSupply supply(embedder, tokenizer, set, sampling, out, train.seed, quiet);
  const double temperature = sampling.temperature > 0 ? sampling.temperature : (embedder->config().unit_vectors ? 0.05 : 1.0);
  train::ContrastiveOptions contrastive;
  contrastive.temperature = temperature;
  contrastive.cosine = embedder->config().unit_vectors;
  std::shared_ptr<const NegativeTable> last_table;

  train::Objective objective;
  objective.micro_step = [&](int64_t index) {
    const int64_t step = index / train.grad_accum + 1;
    const auto table = supply.table_for_step(step);
    last_table = table;
    const auto picks = train::pair_batch_indices(static_cast<int64_t>(set.examples.size()), train.batch, index, train.seed);
    std::vector<std::string> queries, positives, negatives;
    std::mt19937_64 rng(negative_draw_seed(train.seed ^ 0x5851F42D4C957F2DULL, index, 0));
    for (int64_t e : picks) {
      const auto& ex = set.examples[static_cast<size_t>(e)];
      queries.push_back(set.queries[static_cast<size_t>(ex.query)]);
      positives.push_back(positive_text(set, ex));
      if (from_batch) continue;
      int64_t row = 0;
      const auto* drawn = table ? &table->negatives[static_cast<size_t>(ex.query)] : nullptr;
      if (drawn && !drawn->empty()) row = (*drawn)[std::uniform_int_distribution<size_t>(0, drawn->size() - 1)(rng)];
      else row = random_negative(set, ex.query, rng);  // random negatives, or a query whose candidates were all relevant
      negatives.push_back(set.corpus[static_cast<size_t>(row)]);
    }
    int64_t tokens = 0;
    const auto q = embed_texts(embedder, tokenizer, queries, &tokens);
    const auto p = embed_texts(embedder, tokenizer, positives, &tokens);
    if (sampling.source == NegativeSource::none) return train::MicroStep{train::info_nce(q, p, torch::Tensor(), contrastive), tokens};
    if (sampling.source == NegativeSource::hardest_in_batch) {
      // Another example's positive that is judged relevant to this query is no negative.
      const auto b = static_cast<int64_t>(picks.size());
      auto excluded = torch::zeros({b, b}, torch::kBool);
      for (int64_t i = 0; i < b; ++i) {
        const auto& judged = set.positives[static_cast<size_t>(set.examples[static_cast<size_t>(picks[static_cast<size_t>(i)])].query)];
        for (int64_t j = 0; j < b; ++j)
          if (std::find(judged.begin(), judged.end(), set.examples[static_cast<size_t>(picks[static_cast<size_t>(j)])].positive) != judged.end())
            excluded[i][j] = true;
      }
      const auto index = train::hardest_in_batch(q, p, excluded.to(q.device()));
      const auto rows = (index >= 0).nonzero().squeeze(1);
      if (rows.numel() == 0) return train::MicroStep{(q.sum() + p.sum()) * 0, tokens};  // every other positive is relevant
      return train::MicroStep{train::pairwise_nll(q.index_select(0, rows), p.index_select(0, rows), p.index_select(0, index.index_select(0, rows))).mean(),
                              tokens};
    }
    const auto n = embed_texts(embedder, tokenizer, negatives, &tokens);
    if (sampling.in_batch) return train::MicroStep{train::info_nce(q, p, n.unsqueeze(1), contrastive), tokens};
    return train::MicroStep{train::pairwise_nll(q, p, n).mean(), tokens};
  };
  objective.save = [&embedder, tokenizer_spec](const fs::path& dir) { model::save_embedder(dir, embedder, tokenizer_spec); };

  // A fixed sample of examples for the diagnostics, the same at every evaluation. In-batch
  // negatives are mostly easy, so their mean gradient norm rests on the rare near neighbour
  // drawn as one: 32 examples measured it to within a factor of several between seeds, 128
  // steady it (the gradients are of the head only, so this costs little).
  std::vector<int64_t> sample = train::pair_batch_indices(static_cast<int64_t>(set.examples.size()),
                                                          std::min<int64_t>(128, static_cast<int64_t>(set.examples.size())), 0, train.seed ^ 0xD1A6ULL);
  std::vector<Json> diagnostics;
  const auto training_start = std::chrono::steady_clock::now();
  objective.evaluate = [&](int64_t step, Json& metrics) {
    Json row = {{"step", step}};
    if (sample.size() >= 2) {
      const auto ance = sampling.source == NegativeSource::ance ? supply.active() : nullptr;
      for (const auto& d : negative_diagnostics(embedder, tokenizer, set, sample, supply.bm25(), ance, train.seed + static_cast<uint64_t>(step))) {
        row[d.type + "_loss"] = d.loss;
        row[d.type + "_grad_norm"] = d.grad_norm;
        metrics["neg_" + d.type + "_loss"] = d.loss;
        metrics["neg_" + d.type + "_grad_norm"] = d.grad_norm;
      }
    }
    if (sampling.source == NegativeSource::ance) {
      const auto& s = supply.stats();
      metrics["ann_index_age"] = s.index_age;
      metrics["ann_refresh_seconds"] = s.last_refresh_seconds;
      metrics["ann_wait_share"] = s.wait_seconds / std::max(1e-9, seconds_since(training_start));
      row["index_age"] = s.index_age;
    }
    diagnostics.push_back(row);
  };
  objective.description = Json{{"model", embedder->backbone->config().to_json()},
                               {"embedder", embedder->config().to_json()},
                               {"sampling", sampling.to_json()},
                               {"depth", supply.depth()},
                               {"tokenizer", tokenizer_spec},
                               {"data", set.describe()}};
  train::Trainer trainer(train, out);
  trainer.quiet = quiet;
  torch::manual_seed(static_cast<int64_t>(train.seed));  // dropout
  RetrieverTrainingResult result;
  result.train = trainer.fit(*embedder, objective, resume);
  result.refresh = supply.stats();
  result.last_table = last_table;
  result.diagnostics = std::move(diagnostics);
  return result;
}

RetrieverTrainingResult train_retriever_job(const RetrieverJob& job) {
  if (job.model.empty()) usage_error("--model (the embedding model to train: garden embed init, or a warm-up run) is required");
  if (job.collection.empty()) usage_error("--negatives trains on a collection's judged pairs: --collection (a BEIR folder) is required");
  job.sampling.validate();
  Json settings = train::embed_train_defaults(train::EmbedObjective::infonce);
  settings.update(job.train_overrides);
  auto config = train::TrainConfig::from_json(settings, "flags train");
  config.stop_after = job.run.stop_after;
  config.validate("flags train");
  const auto collection = read_beir_collection(job.collection, job.split);
  const auto set = training_set_from_collection(collection, fmt::format("{} (qrels/{}.tsv)", job.collection, job.split));
  auto loaded = model::load_embedder(train::model_folder(job.model), job.device);
  train::claim_run_folder(job.run.out, "garden embed train", job.run.resume);
  train::install_interrupt_handler();
  fmt::print(stderr, "{} negatives ({}): {}; embedder scored by {}\n", job.sampling.name(), job.sampling.in_batch ? "InfoNCE" : "pairwise NLL",
             set.describe(), loaded.embedder->config().unit_vectors ? "cosine" : "inner product");
  return train_retriever(loaded.embedder, *loaded.tokenizer, loaded.tokenizer_spec, set, job.sampling, config, job.run.out, job.run.resume, false);
}

}  // namespace garden::retrieval
