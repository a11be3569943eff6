#include "garden/retrieval/hyde.h"

#include <fmt/core.h>

#include <cmath>
#include <map>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/core/json.h"
#include "garden/model/generation.h"
#include "garden/text/tokenizer.h"

namespace garden::retrieval {

namespace {

constexpr const char* kQuery = "{query}";

// promptor.py's templates, {} written as {query}.
const std::map<std::string, std::string>& templates() {
  static const std::map<std::string, std::string> t = {
      {"web-search", "Please write a passage to answer the question.\nQuestion: {query}\nPassage:"},
      {"scifact", "Please write a scientific paper passage to support/refute the claim.\nClaim: {query}\nPassage:"},
      {"arguana", "Please write a counter argument for the passage.\nPassage: {query}\nCounter Argument:"},
      {"trec-covid", "Please write a scientific paper passage to answer the question.\nQuestion: {query}\nPassage:"},
      {"fiqa", "Please write a financial article passage to answer the question.\nQuestion: {query}\nPassage:"},
      {"dbpedia-entity", "Please write a passage to answer the question.\nQuestion: {query}\nPassage:"},
      {"trec-news", "Please write a news passage about the topic.\nTopic: {query}\nPassage:"},
      {"title", "Title: {query}\nAbstract:"},
  };
  return t;
}

}  // namespace

std::vector<std::string> hyde_tasks() {
  std::vector<std::string> names;
  for (const auto& [name, text] : templates()) names.push_back(name);
  names.push_back("mr-tydi:LANGUAGE");
  return names;
}

std::string hyde_template(const std::string& task) {
  if (task.rfind("mr-tydi:", 0) == 0 && task.size() > 8)
    return "Please write a passage in " + task.substr(8) + " to answer the question in detail.\nQuestion: {query}\nPassage:";
  const auto it = templates().find(task);
  if (it == templates().end()) {
    std::string names;
    for (const auto& name : hyde_tasks()) names += (names.empty() ? "" : ", ") + name;
    usage_error(fmt::format("unknown HyDE task '{}': one of {}", task, names));
  }
  return it->second;
}

std::string fill_hyde_prompt(const std::string& prompt_template, const std::string& query) {
  const auto at = prompt_template.find(kQuery);
  if (at == std::string::npos) usage_error("a HyDE prompt template needs {query} where the query goes, got: " + prompt_template);
  if (prompt_template.find(kQuery, at + 1) != std::string::npos)
    usage_error("a HyDE prompt template holds {query} once, got: " + prompt_template);
  return prompt_template.substr(0, at) + query + prompt_template.substr(at + std::string(kQuery).size());
}

void HydeSampling::validate() const {
  if (n < 0 || max_new_tokens < 1 || !(temperature >= 0) || !(top_p > 0 && top_p <= 1))
    usage_error(fmt::format("HyDE sampling needs n >= 0, max_new_tokens >= 1, temperature >= 0 and 0 < top_p <= 1; got n {}, "
                            "max_new_tokens {}, temperature {}, top_p {}",
                            n, max_new_tokens, temperature, top_p));
}

std::string cut_at_stop(const std::string& text, const std::vector<std::string>& stop) {
  size_t end = text.size();
  for (const auto& s : stop)
    if (!s.empty()) end = std::min(end, text.find(s));
  return text.substr(0, end);
}

HydeGenerator lm_generator(model::Transformer lm, std::shared_ptr<const text::Tokenizer> tokenizer, int64_t batch) {
  if (batch < 1) usage_error(fmt::format("generation batch must be >= 1, got {}", batch));
  return [lm, tokenizer, batch](const std::vector<std::string>& prompts, const HydeSampling& sampling) mutable {
    sampling.validate();
    torch::NoGradGuard no_grad;
    lm->eval();
    model::GenerateOptions options;
    options.max_new_tokens = sampling.max_new_tokens;
    options.temperature = sampling.temperature;
    options.top_p = sampling.top_p;
    options.stop_tokens = {tokenizer->eos_id()};
    std::vector<std::vector<int64_t>> prompt_ids;
    const int64_t room = lm->config().max_seq - sampling.max_new_tokens - 1;  // prompt tokens after BOS
    if (room < 1)
      usage_error(fmt::format("{} new tokens leave no room for a prompt in the generator's context of {}", sampling.max_new_tokens,
                              lm->config().max_seq));
    for (const auto& prompt : prompts) {
      auto ids = tokenizer->encode(prompt);
      // A prompt longer than the room keeps its end, where the template's cue is.
      if (static_cast<int64_t>(ids.size()) > room) ids.erase(ids.begin(), ids.end() - room);
      ids.insert(ids.begin(), tokenizer->bos_id());
      prompt_ids.push_back(std::move(ids));
    }
    // Sequence j is sample k = j mod n of prompt i = j / n, seeded seed + j; a batch's rows are
    // made when it decodes, so a large n costs no more memory than its texts.
    const auto n = static_cast<uint64_t>(sampling.n);
    const uint64_t total = static_cast<uint64_t>(prompts.size()) * n;
    std::vector<std::vector<std::string>> out(prompts.size());
    for (uint64_t start = 0; start < total; start += static_cast<uint64_t>(batch)) {
      const uint64_t end = std::min(total, start + static_cast<uint64_t>(batch));
      std::vector<std::vector<int64_t>> chunk;
      std::vector<uint64_t> seeds;
      for (uint64_t j = start; j < end; ++j) {
        chunk.push_back(prompt_ids[j / n]);
        seeds.push_back(sampling.seed + j);
      }
      const auto completions = model::generate_batch(lm, chunk, seeds, options);
      for (uint64_t j = start; j < end; ++j) {
        auto tokens = completions[j - start].tokens;
        if (!tokens.empty() && tokens.back() == tokenizer->eos_id()) tokens.pop_back();
        out[j / n].push_back(cut_at_stop(tokenizer->decode(tokens), sampling.stop));
      }
    }
    return out;
  };
}

Matrix hyde_query_vectors(const TextEncoder& encode, const std::vector<std::string>& queries, const std::vector<std::vector<std::string>>& generated,
                          bool include_query, bool normalize) {
  if (generated.size() != queries.size())
    throw Error(fmt::format("HyDE: {} lists of generated documents for {} queries", generated.size(), queries.size()));
  std::vector<std::string> texts;
  std::vector<size_t> first(queries.size() + 1, 0);
  for (size_t i = 0; i < queries.size(); ++i) {
    first[i] = texts.size();
    if (include_query) texts.push_back(queries[i]);
    for (const auto& d : generated[i]) texts.push_back(d);
    if (texts.size() == first[i]) throw Error(fmt::format("HyDE: query {} has no generated document and the query is left out", i + 1));
  }
  first[queries.size()] = texts.size();
  const Matrix rows = encode(texts);
  if (rows.rows != static_cast<int64_t>(texts.size())) throw Error("HyDE: the encoder returned another number of vectors than texts");
  Matrix out{static_cast<int64_t>(queries.size()), rows.cols, std::vector<float>(queries.size() * static_cast<size_t>(rows.cols), 0.0F)};
  for (size_t i = 0; i < queries.size(); ++i) {
    float* target = out.data.data() + i * static_cast<size_t>(rows.cols);
    const auto count = static_cast<double>(first[i + 1] - first[i]);
    std::vector<double> sum(static_cast<size_t>(rows.cols), 0.0);
    for (size_t r = first[i]; r < first[i + 1]; ++r)
      for (int64_t c = 0; c < rows.cols; ++c) sum[static_cast<size_t>(c)] += rows.data[r * static_cast<size_t>(rows.cols) + static_cast<size_t>(c)];
    double norm = 0;
    for (auto& v : sum) {
      v /= count;
      norm += v * v;
    }
    const double scale = normalize && norm > 0 ? 1.0 / std::sqrt(norm) : 1.0;
    for (int64_t c = 0; c < rows.cols; ++c) target[c] = static_cast<float>(sum[static_cast<size_t>(c)] * scale);
  }
  return out;
}

HydeRetriever::HydeRetriever(const std::filesystem::path& index_dir, EmbeddingModel& encoder, HydeGenerator generator, HydeOptions options)
    : index_(index_dir), encoder_(encoder), generator_(std::move(generator)), options_(std::move(options)) {
  options_.sampling.validate();
  fill_hyde_prompt(options_.prompt_template, "");  // a template without {query} fails before any work
  refuse_other_model(index_.manifest(), index_dir, encoder.path());
}

Run HydeRetriever::search(const std::vector<Query>& queries, int64_t k) {
  std::vector<std::string> prompts, texts, ids;
  for (const auto& q : queries) {
    prompts.push_back(fill_hyde_prompt(options_.prompt_template, q.text));
    texts.push_back(q.text);
    ids.push_back(q.id);
  }
  generations_ = options_.sampling.n > 0 ? generator_(prompts, options_.sampling) : std::vector<std::vector<std::string>>(queries.size());
  // The query reads with the instruction; generated documents read as documents do.
  const std::string instruction = encoder_.query_instruction(options_.instruction), documents = encoder_.document_instruction();
  const auto encode = [&](const std::vector<std::string>& all) {
    // `all` lists each query's texts in turn (the query first when included): the queries and
    // the generated documents are encoded in one call each, then put back in that order.
    std::vector<bool> is_query(all.size(), false);
    for (size_t i = 0, at = 0; i < queries.size(); at += (options_.include_query ? 1 : 0) + generations_[i].size(), ++i)
      if (options_.include_query) is_query[at] = true;
    std::vector<std::string> query_texts, doc_texts;
    for (size_t j = 0; j < all.size(); ++j) (is_query[j] ? query_texts : doc_texts).push_back(all[j]);
    const Matrix empty{0, encoder_.dims(), {}};
    const Matrix q = query_texts.empty() ? empty : encode_with_model(encoder_, query_texts, instruction, options_.batch, "");
    const Matrix d = doc_texts.empty() ? empty : encode_with_model(encoder_, doc_texts, documents, options_.batch, "");
    Matrix out{static_cast<int64_t>(all.size()), encoder_.dims(), {}};
    const auto width = static_cast<size_t>(out.cols);
    size_t next_q = 0, next_d = 0;
    for (size_t j = 0; j < all.size(); ++j) {
      const float* row = is_query[j] ? q.data.data() + width * next_q++ : d.data.data() + width * next_d++;
      out.data.insert(out.data.end(), row, row + width);
    }
    return out;
  };
  const auto vectors = hyde_query_vectors(encode, texts, generations_, options_.include_query, options_.normalize);
  return hits_to_run(index_.search(vectors, k), ids, index_.ids());
}

void write_hyde_generations(const std::filesystem::path& path, const std::vector<Query>& queries,
                            const std::vector<std::vector<std::string>>& generations) {
  if (queries.size() != generations.size()) throw Error("HyDE: generations and queries differ in number");
  std::string lines;
  for (size_t i = 0; i < queries.size(); ++i)
    lines += Json{{"query_id", queries[i].id}, {"query", queries[i].text}, {"documents", generations[i]}}.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
  write_file_atomic(path, lines);
}

}  // namespace garden::retrieval
