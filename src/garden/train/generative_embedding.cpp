#include "garden/train/generative_embedding.h"

#include <fmt/core.h>

#include <cmath>
#include <fstream>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/core/json.h"
#include "garden/core/progress.h"
#include "garden/model/generation.h"
#include "garden/model/model_folder.h"
#include "garden/text/corpus.h"
#include "garden/train/run_folder.h"
#include "garden/train/wordnet_chat.h"
#include "garden/train/embedder_training.h"

namespace garden::train {

std::vector<GenerativeAnswer> backbone_answers(model::Transformer& backbone, const text::Tokenizer& tokenizer, const std::vector<std::string>& queries,
                                               const AnswerOptions& options, const std::function<void(int64_t)>& progress) {
  if (options.max_new_tokens < 1 || options.batch < 1)
    usage_error(fmt::format("answers need max_new_tokens >= 1 and batch >= 1, got {} and {}", options.max_new_tokens, options.batch));
  torch::NoGradGuard no_grad;
  const bool was_training = backbone->is_training();
  backbone->eval();
  model::GenerateOptions generate;
  generate.max_new_tokens = options.max_new_tokens;
  generate.temperature = 0;
  generate.stop_tokens = {tokenizer.eos_id()};
  std::vector<GenerativeAnswer> out;
  const auto size = static_cast<size_t>(options.batch);
  for (size_t start = 0; start < queries.size(); start += size) {
    std::vector<std::vector<int64_t>> prompts;
    for (size_t i = start; i < std::min(queries.size(), start + size); ++i) {
      prompts.push_back(chat_prompt(tokenizer, queries[i], options.cue));
      if (static_cast<int64_t>(prompts.back().size()) + options.max_new_tokens > backbone->config().max_seq)
        throw Error(fmt::format("query {} ('{}') and its answer of up to {} tokens exceed the model's context of {} tokens", i + 1,
                                queries[i].substr(0, 60), options.max_new_tokens, backbone->config().max_seq));
    }
    for (auto& completion : model::generate_batch(backbone, prompts, std::vector<uint64_t>(prompts.size(), 0), generate)) {
      GenerativeAnswer answer;
      answer.tokens = std::move(completion.tokens);
      if (!answer.tokens.empty() && answer.tokens.back() == tokenizer.eos_id()) answer.tokens.pop_back();
      answer.text = tokenizer.decode(answer.tokens);
      answer.tokens.push_back(tokenizer.eos_id());
      out.push_back(std::move(answer));
    }
    if (progress) progress(static_cast<int64_t>(out.size()));
  }
  backbone->train(was_training);
  return out;
}

std::vector<PreparedQuery> prepare_generative_data(model::Transformer& backbone, const text::Tokenizer& tokenizer, model::Embedder& teacher,
                                                   const text::Tokenizer& teacher_tokenizer, const std::vector<std::string>& queries,
                                                   const AnswerOptions& options, const std::function<void(int64_t)>& progress) {
  auto answers = backbone_answers(backbone, tokenizer, queries, options, progress);
  std::vector<std::string> texts;
  for (const auto& a : answers) texts.push_back(a.text);
  const auto targets = model::encode_features(teacher, teacher_tokenizer, texts, options.batch).contiguous();
  std::vector<PreparedQuery> out;
  for (size_t i = 0; i < queries.size(); ++i) {
    const float* row = targets.data_ptr<float>() + static_cast<int64_t>(i) * targets.size(1);
    out.push_back({queries[i], std::move(answers[i]), std::vector<float>(row, row + targets.size(1))});
  }
  return out;
}

void write_generative_data(const std::filesystem::path& path, const std::vector<PreparedQuery>& data) {
  std::string lines;
  for (const auto& d : data)
    lines += Json{{"query", d.query}, {"response", d.answer.text}, {"response_ids", d.answer.tokens}, {"teacher", d.teacher}}.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
  write_file_atomic(path, lines);
}

int64_t prepare_generative_file(const GenerativePrepareJob& job) {
  if (job.backbone.empty() || job.teacher.empty() || job.queries.empty() || job.out.empty())
    usage_error("llm2vec-gen prepare needs --model, --teacher, --queries and --out");
  refuse_foreign_output_file(job.out, "prepared LLM2Vec-Gen queries", [](const std::filesystem::path& p) {
    std::ifstream in(p);
    std::string first;
    std::getline(in, first);
    const auto line = Json::parse(first, nullptr, false);
    return line.is_object() && line.contains("response_ids") && line.contains("teacher");
  });
  std::vector<std::string> queries;
  if (std::filesystem::path(job.queries).extension() == ".jsonl") {
    for_each_jsonl_object(job.queries, [&](const Json& line, int64_t number) {
      if (!line.contains("text") || !line["text"].is_string())
        throw Error(fmt::format("{}:{}: no \"text\" string (a query a line, as BEIR's queries.jsonl)", job.queries, number));
      queries.push_back(line["text"].get<std::string>());
    });
  } else {
    queries = text::read_text_documents(job.queries, text::TextUnit::line);
  }
  if (queries.empty()) throw Error(job.queries + ": no queries");
  auto backbone = model::load_model(model_folder(job.backbone));
  const auto tokenizer = text::load_tokenizer(backbone.tokenizer_spec);
  auto teacher = model::load_embedder(model_folder(job.teacher));
  Progress progress("answers", static_cast<int64_t>(queries.size()), "queries");
  const auto data = prepare_generative_data(backbone.model, *tokenizer, teacher.embedder, *teacher.tokenizer, queries, job.answers,
                                            [&](int64_t done) { progress.update(done); });
  progress.finish();
  write_generative_data(job.out, data);
  return static_cast<int64_t>(data.size());
}

std::vector<std::string> decode_generative(const std::string& model, const std::vector<std::string>& texts, const std::string& instruction,
                                           int64_t max_new_tokens) {
  if (texts.empty()) usage_error("nothing to decode: give --text or --input");
  auto loaded = model::load_generative_embedder(model_folder(model));
  const auto tokenizer = text::load_tokenizer(loaded.tokenizer_spec);
  return model::decode_soft_prompts(loaded.model, *tokenizer, texts, instruction, max_new_tokens);
}

std::vector<GenerativeExample> read_generative_examples(const std::filesystem::path& path, const text::Tokenizer& tokenizer,
                                                       const model::GenerativeEmbedderConfig& config) {
  std::vector<GenerativeExample> examples;
  size_t dims = 0;
  for_each_jsonl_object(path, [&](const Json& line, int64_t number) {
    const std::string where = fmt::format("{}:{}", path.string(), number);
    refuse_unknown_keys(line, Json{"query", "response", "response_ids", "teacher"}, where);
    for (const char* key : {"query", "response_ids", "teacher"})
      if (!line.contains(key)) throw Error(fmt::format("{}: no \"{}\" (garden llm2vec-gen prepare writes query, response_ids and teacher)", where, key));
    GenerativeExample example;
    std::string query;
    read_field(line, "query", query, where);
    read_field(line, "response_ids", example.response, where);
    read_field(line, "teacher", example.teacher, where);
    if (example.response.empty()) throw Error(where + ": \"response_ids\" is empty (an answer ends with EOS at least)");
    for (const int64_t id : example.response)
      if (id < 0 || id >= tokenizer.vocab_size())
        throw Error(fmt::format("{}: response id {} is outside the vocabulary of {} pieces: prepared with another tokenizer?", where, id,
                                tokenizer.vocab_size()));
    if (example.teacher.empty()) throw Error(where + ": \"teacher\" is empty");
    for (const float v : example.teacher)
      if (!std::isfinite(v)) throw Error(where + ": \"teacher\" holds a value that is not finite");
    if (dims == 0) dims = example.teacher.size();
    if (example.teacher.size() != dims)
      throw Error(fmt::format("{}: a teacher vector of {} dimensions after ones of {}", where, example.teacher.size(), dims));
    example.query = model::generative_query_row(config, tokenizer, "", query);
    examples.push_back(std::move(example));
  });
  if (examples.empty()) throw Error(path.string() + ": no examples");
  return examples;
}

void GenerativeLossWeights::validate() const {
  if (!(std::isfinite(reconstruction) && reconstruction >= 0) || !(std::isfinite(alignment) && alignment >= 0))
    usage_error(fmt::format("loss weights must be finite and >= 0, got reconstruction {} and alignment {}", reconstruction, alignment));
  if (reconstruction == 0 && alignment == 0) usage_error("the reconstruction and alignment weights are both 0: nothing to train");
}

GenerativeLosses generative_batch_losses(model::GenerativeEmbedder& model, const std::vector<const GenerativeExample*>& batch,
                                         const GenerativeLossWeights& weights) {
  if (batch.empty()) throw Error("generative embedding: an empty batch");
  std::vector<std::vector<int64_t>> queries, responses;
  std::vector<float> teacher;
  const int64_t dims = model->config().embedding_dims;
  for (const auto* example : batch) {
    queries.push_back(example->query);
    responses.push_back(example->response);
    if (static_cast<int64_t>(example->teacher.size()) != dims)
      throw Error(fmt::format("generative embedding: a teacher vector has {} dimensions, the model's embedding {}", example->teacher.size(), dims));
    teacher.insert(teacher.end(), example->teacher.begin(), example->teacher.end());
  }
  const auto encoded = model->encode(queries);
  GenerativeLosses losses;
  losses.total = torch::zeros({}, encoded.embedding.options());
  if (weights.reconstruction > 0) {
    losses.reconstruction = model->reconstruction_loss(encoded.soft_prompt, responses);
    losses.total = losses.total + weights.reconstruction * losses.reconstruction;
  }
  if (weights.alignment > 0) {
    const auto targets = torch::tensor(teacher).view({static_cast<int64_t>(batch.size()), dims}).to(encoded.embedding.device());
    losses.alignment = model::alignment_loss(encoded.embedding, targets);
    losses.total = losses.total + weights.alignment * losses.alignment;
  }
  return losses;
}

Objective generative_embedding_objective(model::GenerativeEmbedder& model, const std::vector<GenerativeExample>& train,
                                         const std::vector<GenerativeExample>& held_out, const GenerativeLossWeights& weights,
                                         const TrainConfig& config, const std::string& tokenizer_spec) {
  weights.validate();
  if (train.empty()) throw Error("generative embedding: no training examples");
  Objective objective;
  objective.micro_step = [&model, &train, weights, config](int64_t index) {
    std::vector<const GenerativeExample*> batch;
    int64_t tokens = 0;
    for (int64_t i : pair_batch_indices(static_cast<int64_t>(train.size()), config.batch, index, config.seed)) {
      batch.push_back(&train[static_cast<size_t>(i)]);
      tokens += static_cast<int64_t>(batch.back()->query.size() + batch.back()->response.size());
    }
    return MicroStep{generative_batch_losses(model, batch, weights).total, tokens};
  };
  objective.save = [&model, tokenizer_spec](const std::filesystem::path& dir) { model::save_generative_embedder(dir, model, tokenizer_spec); };
  if (!held_out.empty()) {
    objective.evaluate = [&model, &held_out, config, weights](int64_t, Json& metrics) {
      torch::NoGradGuard no_grad;
      const bool was_training = model->is_training();
      model->eval();
      double reconstruction = 0, alignment = 0;
      int64_t batches = 0;
      const size_t size = static_cast<size_t>(config.batch);
      for (size_t start = 0; start < held_out.size(); start += size) {
        std::vector<const GenerativeExample*> batch;
        for (size_t i = start; i < std::min(held_out.size(), start + size); ++i) batch.push_back(&held_out[i]);
        const auto losses = generative_batch_losses(model, batch, GenerativeLossWeights{});
        reconstruction += losses.reconstruction.item<double>();
        alignment += losses.alignment.item<double>();
        ++batches;
      }
      // Cosine with the example's own teacher vector against the next example's.
      std::vector<std::vector<int64_t>> queries;
      for (const auto& example : held_out) queries.push_back(example.query);
      const auto embeddings = torch::nn::functional::normalize(model->encode(queries).embedding, torch::nn::functional::NormalizeFuncOptions().dim(1));
      std::vector<float> flat;
      for (const auto& example : held_out) flat.insert(flat.end(), example.teacher.begin(), example.teacher.end());
      const auto teachers = torch::nn::functional::normalize(
          torch::tensor(flat).view({static_cast<int64_t>(held_out.size()), -1}).to(embeddings.device()),
          torch::nn::functional::NormalizeFuncOptions().dim(1));
      const double own = (embeddings * teachers).sum(1).mean().item<double>();
      const double other = (embeddings * teachers.roll(1, 0)).sum(1).mean().item<double>();
      model->train(was_training);
      metrics["reconstruction_loss"] = reconstruction / static_cast<double>(batches);
      metrics["alignment_loss"] = alignment / static_cast<double>(batches);
      metrics["val_loss"] = weights.reconstruction * metrics["reconstruction_loss"].get<double>() +
                            weights.alignment * metrics["alignment_loss"].get<double>();
      metrics["cosine_own_teacher"] = own;
      metrics["cosine_other_teacher"] = other;
    };
  }
  objective.description = Json{{"model", model->backbone->config().to_json()},
                               {"generative", model->config().to_json()},
                               {"objective", {{"kind", "llm2vec-gen"}, {"lambda_reconstruction", weights.reconstruction},
                                              {"lambda_alignment", weights.alignment}}},
                               {"tokenizer", tokenizer_spec},
                               {"data", fmt::format("{} training queries, {} held out", train.size(), held_out.size())}};
  return objective;
}

}  // namespace garden::train
