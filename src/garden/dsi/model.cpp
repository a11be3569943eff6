#include "garden/dsi/model.h"

#include <fmt/core.h>

#include <limits>
#include <map>
#include <set>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/model/beam_search.h"
#include "garden/model/kv_cache.h"
#include "garden/model/model_folder.h"

namespace garden::dsi {

std::vector<int64_t> input_row(const DsiVocab& vocab, bool indexing, const std::vector<int64_t>& text) {
  std::vector<int64_t> row{indexing ? vocab.index_marker() : vocab.query_marker()};
  row.insert(row.end(), text.begin(), text.end());
  row.push_back(vocab.docid_start());
  return row;
}

std::vector<int64_t> target_tokens(const DsiVocab& vocab, const Docid& docid) {
  std::vector<int64_t> out;
  for (const int64_t s : docid) out.push_back(vocab.symbol(s));
  out.push_back(vocab.docid_end());
  return out;
}

DsiBatch make_dsi_batch(const DsiVocab& vocab, const std::vector<StreamExample>& examples, const DocidMap& docids, int64_t pad_id) {
  if (examples.empty()) throw Error("DSI batch: no examples");
  std::vector<std::vector<int64_t>> rows;
  std::vector<int64_t> prefix;
  size_t longest = 0;
  for (const auto& e : examples) {
    auto row = input_row(vocab, e.indexing, e.input);
    prefix.push_back(static_cast<int64_t>(row.size()));
    const auto target = target_tokens(vocab, docids.docids.at(static_cast<size_t>(e.doc)));
    row.insert(row.end(), target.begin(), target.end());
    longest = std::max(longest, row.size());
    rows.push_back(std::move(row));
  }
  const auto b = static_cast<int64_t>(rows.size()), t = static_cast<int64_t>(longest);
  DsiBatch batch;
  batch.tokens = torch::full({b, t}, pad_id, torch::kLong);                  // [B,T]
  batch.attention_mask = torch::zeros({b, t}, torch::kLong);                 // [B,T]
  batch.targets = torch::zeros({b, t}, torch::kLong);                        // [B,T] next token
  batch.loss_mask = torch::zeros({b, t}, torch::kFloat32);                   // [B,T]
  batch.prefix_lengths = torch::tensor(prefix, torch::kLong);                // [B]
  auto tokens = batch.tokens.accessor<int64_t, 2>();
  auto mask = batch.attention_mask.accessor<int64_t, 2>();
  auto targets = batch.targets.accessor<int64_t, 2>();
  auto loss = batch.loss_mask.accessor<float, 2>();
  for (int64_t i = 0; i < b; ++i) {
    const auto& row = rows[static_cast<size_t>(i)];
    const auto length = static_cast<int64_t>(row.size());
    for (int64_t j = 0; j < length; ++j) {
      tokens[i][j] = row[static_cast<size_t>(j)];
      mask[i][j] = 1;
      if (j + 1 < length) targets[i][j] = row[static_cast<size_t>(j + 1)];
      // Position j predicts token j + 1: counted from [DOCID] (the last input token) on.
      if (j + 1 < length && j + 1 >= prefix[static_cast<size_t>(i)]) loss[i][j] = 1;
    }
  }
  return batch;
}

void DsiModelOptions::validate() const {
  if (d_model < 8 || layers < 1 || heads < 1 || d_ff < 1 || d_model % heads != 0)
    usage_error(fmt::format("DSI model: d_model {} (a multiple of heads {}), layers {} and d_ff {} must be positive", d_model, heads,
                            layers, d_ff));
}

model::TransformerConfig dsi_transformer_config(const DsiModelOptions& o, const DsiVocab& vocab, int64_t max_seq) {
  o.validate();
  model::TransformerConfig c;
  c.vocab = vocab.size();
  c.d_model = o.d_model;
  c.n_layers = o.layers;
  c.n_heads = o.heads;
  c.d_ff = o.d_ff;
  c.max_seq = max_seq;
  c.validate();
  return c;
}

DsiModel new_dsi_model(const std::string& tokenizer_spec, const DocidMap& docids, const DsiModelOptions& options,
                       const StreamOptions& stream) {
  stream.validate();
  docids.validate();
  DsiModel m;
  m.tokenizer_spec = tokenizer_spec;
  m.tokenizer = text::load_tokenizer(tokenizer_spec);
  m.vocab = {m.tokenizer->vocab_size(), docids.symbols};
  m.docids = docids;
  m.stream = stream;
  // marker + input + [DOCID] + docid + [END]
  const int64_t max_seq = 3 + std::max(stream.doc_tokens, stream.query_tokens) + docids.max_length();
  m.transformer = model::Transformer(dsi_transformer_config(options, m.vocab, max_seq));
  return m;
}

namespace {

Json vocab_json(const DsiVocab& v) { return {{"text", v.text}, {"symbols", v.symbols}}; }

int64_t pad_of(const text::Tokenizer& tokenizer) { return tokenizer.pad_id() >= 0 ? tokenizer.pad_id() : 0; }

}  // namespace

void save_dsi_model(const std::filesystem::path& dir, DsiModel& m) {
  model::save_model(dir, m.transformer, m.tokenizer_spec);
  write_docid_map(m.docids, dir / "docid_map.tsv");
  write_json_atomic(dir / "dsi.json", Json{{"vocab", vocab_json(m.vocab)}, {"stream", m.stream.to_json()}, {"scheme", to_string(m.docids.scheme)}});
}

DsiModel load_dsi_model(const std::filesystem::path& dir) {
  if (!std::filesystem::exists(dir / "dsi.json"))
    throw Error(fmt::format("{}: no dsi.json: not a DSI model (garden dsi train writes one)", dir.string()));
  DsiModel m;
  auto loaded = model::load_model(dir);
  m.transformer = loaded.model;
  m.tokenizer_spec = loaded.tokenizer_spec;
  m.tokenizer = text::load_tokenizer(m.tokenizer_spec);
  const auto where = (dir / "dsi.json").string();
  const Json json = read_json_file(dir / "dsi.json");
  try {
    m.vocab.text = json.at("vocab").at("text").get<int64_t>();
    m.vocab.symbols = json.at("vocab").at("symbols").get<int64_t>();
    const auto& s = json.at("stream");
    m.stream.mode = parse_stream_mode(s.at("mode").get<std::string>());
    m.stream.ratio = s.at("ratio").get<double>();
    m.stream.representation = parse_doc_representation(s.at("representation").get<std::string>());
    m.stream.doc_tokens = s.at("doc_tokens").get<int64_t>();
    m.stream.query_tokens = s.at("query_tokens").get<int64_t>();
  } catch (const Json::exception& e) {
    throw Error(fmt::format("{}: {}", where, e.what()));
  }
  m.docids = read_docid_map(dir / "docid_map.tsv");
  if (m.vocab.text != m.tokenizer->vocab_size() || m.vocab.symbols != m.docids.symbols ||
      m.vocab.size() != m.transformer->config().vocab)
    throw Error(fmt::format("{}: the vocabulary layout (text {}, symbols {}) does not match the tokenizer ({}), the docid map ({}) "
                            "and the model ({})",
                            where, m.vocab.text, m.vocab.symbols, m.tokenizer->vocab_size(), m.docids.symbols,
                            m.transformer->config().vocab));
  return m;
}

torch::Tensor dsi_batch_loss(DsiModel& m, const DsiBatch& batch) {
  model::ForwardOptions forward;
  forward.mask = model::MaskMode::prefix;
  forward.prefix_lengths = batch.prefix_lengths;
  forward.attention_mask = batch.attention_mask;
  forward.compute_logits = false;
  const auto hidden = m.transformer->forward(batch.tokens, forward).hidden;  // [B,T,C]
  // The head only where the loss counts (the docid and [END], about 5 of 30 positions).
  const auto counted = batch.loss_mask.to(torch::kBool);               // [B,T]
  const auto logits = m.transformer->logits(hidden.index({counted}));  // [N,V]
  return torch::nn::functional::cross_entropy(logits.to(torch::kFloat32), batch.targets.index({counted}));
}

train::TrainResult train_dsi(DsiModel& m, const std::vector<std::string>& documents,
                             const std::vector<std::pair<std::string, int64_t>>& queries, const DsiTrainJob& job,
                             const std::filesystem::path& out, bool resume, bool quiet) {
  if (static_cast<int64_t>(documents.size()) != static_cast<int64_t>(m.docids.docids.size()))
    throw Error(fmt::format("DSI training: {} documents for a docid map of {}", documents.size(), m.docids.docids.size()));
  const TrainingStream stream(*m.tokenizer, documents, queries, job.stream, job.seed);
  const int64_t pad = pad_of(*m.tokenizer);
  const auto config = job.train;
  train::Objective objective;
  objective.micro_step = [&m, &stream, pad, config](int64_t index) {
    const int64_t step = index / config.grad_accum + 1;
    const auto batch = make_dsi_batch(m.vocab, stream.batch(index, config.batch, step, config.steps), m.docids, pad);
    const auto loss = dsi_batch_loss(m, batch);
    return train::MicroStep{loss, batch.attention_mask.sum().item<int64_t>()};
  };
  objective.save = [&m](const std::filesystem::path& dir) { save_dsi_model(dir, m); };
  objective.description = Json{{"model", m.transformer->config().to_json()},
                               {"objective", {{"kind", "dsi"}, {"scheme", to_string(m.docids.scheme)}, {"stream", job.stream.to_json()},
                                              {"documents", documents.size()}, {"training_queries", queries.size()},
                                              {"docid_map_sha256", sha256_hex(docid_map_text(m.docids))}}},
                               {"tokenizer", m.tokenizer_spec}};
  train::Trainer trainer(config, out);
  trainer.quiet = quiet;
  trainer.tokenizer_spec = m.tokenizer_spec;
  return trainer.fit(*m.transformer, objective, resume);
}

std::vector<int64_t> query_input(const DsiModel& m, const std::string& query) {
  auto tokens = m.tokenizer->encode(query);
  if (static_cast<int64_t>(tokens.size()) > m.stream.query_tokens) tokens.resize(static_cast<size_t>(m.stream.query_tokens));
  return tokens;
}

std::vector<int64_t> document_input(const DsiModel& m, const std::string& document) {
  auto tokens = m.tokenizer->encode(m.stream.representation == DocRepresentation::set ? set_representation(document) : document);
  if (static_cast<int64_t>(tokens.size()) > m.stream.doc_tokens) tokens.resize(static_cast<size_t>(m.stream.doc_tokens));
  return tokens;
}

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Log-probs [R,V] with every token a row's trie node does not allow set to -inf (a row whose
// node is -1, a dead placeholder, allows nothing).
torch::Tensor constrain(const torch::Tensor& log_probs, const std::vector<int64_t>& nodes, const DocidTrie& trie, const DsiVocab& vocab) {
  auto allowed = torch::zeros_like(log_probs, torch::kBool);  // [R,V]
  auto a = allowed.accessor<bool, 2>();
  for (size_t r = 0; r < nodes.size(); ++r) {
    if (nodes[r] < 0) continue;
    for (const int64_t s : trie.next_symbols(nodes[r])) a[static_cast<int64_t>(r)][vocab.symbol(s)] = true;
    if (trie.ends_here(nodes[r])) a[static_cast<int64_t>(r)][vocab.docid_end()] = true;
  }
  return log_probs.masked_fill(allowed.logical_not(), kNegInf);
}

}  // namespace

std::vector<std::vector<RankedDocid>> dsi_search(DsiModel& m, const std::vector<std::vector<int64_t>>& inputs, bool indexing,
                                                 const SearchOptions& o) {
  if (o.beam < 1 || o.beam > 1000) usage_error(fmt::format("--beam must be 1..1000, got {}", o.beam));
  if (o.batch < 1) usage_error("DSI search: the batch must be at least 1");
  c10::InferenceMode inference;
  auto& model = m.transformer;
  const bool was_training = model->is_training();
  model->eval();
  const DocidTrie trie(m.docids);
  model::BeamOptions beam;
  beam.width = o.beam;
  beam.eos_id = m.vocab.docid_end();
  beam.max_new_tokens = m.docids.max_length() + 1;

  // Inputs of equal length decode together (no padding: every input token is in the prefix).
  std::map<size_t, std::vector<size_t>> by_length;
  std::vector<std::vector<int64_t>> rows;
  for (size_t i = 0; i < inputs.size(); ++i) {
    rows.push_back(input_row(m.vocab, indexing, inputs[i]));
    by_length[rows.back().size()].push_back(i);
  }
  std::vector<std::vector<RankedDocid>> out(inputs.size());
  for (const auto& [length, members] : by_length) {
    for (size_t start = 0; start < members.size(); start += static_cast<size_t>(o.batch)) {
      const size_t stop = std::min(members.size(), start + static_cast<size_t>(o.batch));
      const auto count = static_cast<int64_t>(stop - start);
      std::vector<int64_t> flat;
      for (size_t i = start; i < stop; ++i) flat.insert(flat.end(), rows[members[i]].begin(), rows[members[i]].end());
      model::KVCache cache;
      model::ForwardOptions prefill;
      prefill.cache = &cache;
      prefill.mask = model::MaskMode::prefix;
      prefill.prefix_lengths = torch::full({count}, static_cast<int64_t>(length), torch::kLong);
      const auto input = torch::tensor(flat, torch::kLong).view({count, static_cast<int64_t>(length)});
      auto first = torch::log_softmax(model->forward(input, prefill).logits.select(1, -1).to(torch::kFloat32), -1);  // [P,V]
      // Trie node of each beam row: before the first step, one row per prompt at the root.
      std::vector<int64_t> nodes(static_cast<size_t>(count), 0);
      if (o.constrained) first = constrain(first, nodes, trie, m.vocab);
      bool first_step = true;
      const model::BeamStep step = [&](const std::vector<int64_t>& parents, const std::vector<int64_t>& tokens) {
        std::vector<int64_t> cache_rows = parents;
        if (first_step)
          for (auto& r : cache_rows) r /= o.beam;
        std::vector<int64_t> next_nodes(parents.size(), -1);
        for (size_t r = 0; r < parents.size(); ++r) {
          const int64_t parent_node = nodes[static_cast<size_t>(cache_rows[r])];
          const int64_t symbol = tokens[r] - m.vocab.symbol(0);
          if (parent_node >= 0 && symbol >= 0 && symbol < m.vocab.symbols) next_nodes[r] = trie.child(parent_node, symbol);
        }
        nodes = std::move(next_nodes);
        first_step = false;
        cache.select_rows(torch::tensor(cache_rows, torch::kLong));
        model::ForwardOptions decode;
        decode.cache = &cache;
        const auto next = torch::tensor(tokens, torch::kLong).view({-1, 1});
        auto log_probs = torch::log_softmax(model->forward(next, decode).logits.select(1, -1).to(torch::kFloat32), -1);
        return o.constrained ? constrain(log_probs, nodes, trie, m.vocab) : log_probs;
      };
      auto beams = model::beam_search(first, step, beam);
      for (size_t i = start; i < stop; ++i) {
        std::set<int64_t> seen;
        auto& ranked = out[members[i]];
        for (const auto& b : beams[i - start]) {
          // A finished beam ends in [END]; its symbols before that are the docid.
          int64_t doc = -1;
          if (!b.tokens.empty() && b.tokens.back() == m.vocab.docid_end()) {
            Docid docid;
            bool symbols_only = true;
            for (size_t t = 0; t + 1 < b.tokens.size(); ++t) {
              const int64_t s = b.tokens[t] - m.vocab.symbol(0);
              if (s < 0 || s >= m.vocab.symbols) symbols_only = false;
              docid.push_back(s);
            }
            if (symbols_only) doc = m.docids.document_of(docid);
          }
          if (doc >= 0 && !seen.insert(doc).second) continue;  // the same docid twice
          ranked.push_back({doc, b.log_prob});
        }
      }
    }
  }
  if (was_training) model->train();
  return out;
}

}  // namespace garden::dsi
