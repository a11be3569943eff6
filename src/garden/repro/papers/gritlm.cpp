// Reproduction of "Generative Representational Instruction Tuning" (GritLM; Muennighoff et al.,
// arXiv:2402.09906), small scale per ../papers/gritlm.md: the shared base LM trained three ways
// for the same steps on the same data (embedding-only, generative-only, GRIT), two more GRIT
// arms with causal attention (last-token and weighted-mean pooling), then the GRIT model
// trained further on answering from a document, used as retriever and reader with each of
// GritLM's caching variants (quality, exactness of causal states, and latency on long parts).
#include <fmt/core.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/eval/embedding_suite.h"
#include "garden/eval/ir_metrics.h"
#include "garden/model/grit.h"
#include "garden/repro/embedding_setup.h"
#include "garden/repro/toolkit.h"
#include "garden/retrieval/collection.h"
#include "garden/retrieval/dense.h"
#include "garden/retrieval/model_vectors.h"
#include "garden/retrieval/rag.h"
#include "garden/text/prepare.h"
#include "garden/text/syllables.h"
#include "garden/text/wordnet_instructions.h"
#include "garden/train/grit_training.h"
#include "garden/train/run_folder.h"

namespace garden::repro::gritlm {

namespace {

namespace fs = std::filesystem;

const char* const kSlug = "gritlm";
const char* const kDefinitionInstruction = "Given a word, retrieve its definition";
const char* const kStsInstruction = "Retrieve semantically similar text";
const char* const kTitleInstruction = "Given a title, retrieve the abstract";
const char* const kFactInstruction = "Given a question, retrieve the document that answers it";

struct Sizes {
  int64_t steps, rag_steps, embed_batch, gen_batch;
  size_t synsets, facts, questions, verses, sts_test, latency_tokens, latency_reps, exactness_questions;
  int64_t new_tokens;
};

Sizes sizes_for(const Context& ctx) {
  return {.steps = ctx.pick<int64_t>(3, 200, 1000),
          .rag_steps = ctx.pick<int64_t>(3, 300, 600),
          .embed_batch = ctx.pick<int64_t>(8, 32, 32),
          .gen_batch = ctx.pick<int64_t>(2, 4, 4),
          .synsets = ctx.pick<size_t>(120, 5000, 5000),
          .facts = ctx.pick<size_t>(40, 600, 1000),
          .questions = ctx.pick<size_t>(10, 300, 500),
          .verses = ctx.pick<size_t>(200, 6000, 20000),
          .sts_test = ctx.pick<size_t>(50, 100000, 100000),
          .latency_tokens = ctx.pick<size_t>(64, 4000, 4000),
          .latency_reps = ctx.pick<size_t>(1, 5, 9),
          .exactness_questions = ctx.pick<size_t>(3, 20, 50),
          .new_tokens = 8};
}

// ---- data --------------------------------------------------------------------------------

// The usage example WordNet appends to a gloss ("...; \"an example\""), or "".
std::string gloss_example(const std::string& gloss) {
  const auto open = gloss.find("; \"");
  if (open == std::string::npos) return "";
  const auto close = gloss.find('"', open + 3);
  return close == std::string::npos ? "" : gloss.substr(open + 3, close - open - 3);
}

struct Data {
  std::vector<train::GritDataset> datasets;
  std::vector<train::GritGeneration> generations, held_out_generations;
  retrieval::Collection definitions;  // held-out lemmas -> every gloss
  std::vector<eval::StsPair> sts_test;
  std::vector<std::pair<std::string, retrieval::Collection>> collections;  // Cranfield, MED
  std::string used;
};

Data build_data(const Context& ctx, const Sizes& s) {
  Data d;
  std::vector<std::string> parts;
  const auto synsets = text::wordnet_synsets(ctx.wordnet, {"noun"});
  const text::WordNetHierarchy hierarchy(synsets);
  auto chosen = text::single_word_synsets(synsets);
  std::mt19937_64 rng(ctx.seed + 101);
  std::shuffle(chosen.begin(), chosen.end(), rng);
  if (chosen.size() > s.synsets) chosen.resize(s.synsets);
  const size_t held = chosen.size() / 5;  // split by synset: 20% held out
  // Sister synsets (the same nearest hypernym) give each definition its hard negative.
  std::map<size_t, std::vector<size_t>> by_parent;
  for (const size_t i : chosen) {
    const auto up = hierarchy.ancestors(i);
    if (!up.empty()) by_parent[up.front()].push_back(i);
  }
  train::GritDataset definitions{"wordnet-definitions", kDefinitionInstruction, {}};
  for (size_t k = 0; k < chosen.size(); ++k) {
    const size_t i = chosen[k];
    const auto gloss = text::gloss_definition(synsets[i].gloss);
    const auto& lemma = synsets[i].lemmas.front();
    d.definitions.corpus.push_back({std::to_string(i), "", gloss});
    if (k < held) {
      d.definitions.queries.push_back({std::to_string(i), lemma});
      d.definitions.qrels[std::to_string(i)][std::to_string(i)] = 1;
      d.held_out_generations.push_back({fmt::format("Define the word \"{}\".", lemma), gloss, {}, {}});
      continue;
    }
    text::TextPair pair{lemma, gloss, std::to_string(i), {}};
    const auto up = hierarchy.ancestors(i);
    if (!up.empty())
      for (const size_t sister : by_parent[up.front()])
        if (sister != i) {
          pair.negatives.push_back(text::gloss_definition(synsets[sister].gloss));
          break;
        }
    definitions.pairs.push_back(std::move(pair));
    d.generations.push_back({fmt::format("Define the word \"{}\".", lemma), gloss, {}, {}});
    if (const auto example = gloss_example(synsets[i].gloss); !example.empty())
      d.generations.push_back({fmt::format("Give an example using \"{}\".", lemma), example, {}, {}});
  }
  d.datasets.push_back(std::move(definitions));
  parts.push_back(fmt::format("WordNet: {} single-word noun synsets ({} held out by synset)", chosen.size(), held));

  // Continue: a KJV verse -> the next one; the last tenth of the verses taken is held out.
  auto verses = text::bible_verses();
  if (verses.size() > s.verses) verses.resize(s.verses);
  const size_t held_verses = verses.size() / 10;
  for (size_t i = 0; i + 1 < verses.size(); ++i)
    (i + 1 >= verses.size() - held_verses ? d.held_out_generations : d.generations).push_back({"Continue: " + verses[i], verses[i + 1], {}, {}});
  parts.push_back(fmt::format("KJV: {} verse continuations", verses.size() - 1));

  if (const auto train_file = data_file(ctx, "stsb", "train.tsv")) {
    train::GritDataset sts{"stsb", kStsInstruction, {}};
    for (const auto& p : eval::read_sts_pairs(*train_file))
      if (p.score >= 4) {
        sts.pairs.push_back({p.first, p.second, "", {}});
        sts.pairs.push_back({p.second, p.first, "", {}});
      }
    d.datasets.push_back(std::move(sts));
    d.sts_test = eval::read_sts_pairs(*data_file(ctx, "stsb", "test.tsv"));
    if (d.sts_test.size() > s.sts_test) d.sts_test.resize(s.sts_test);
    parts.push_back(fmt::format("STS-B ({} training pairs >= 4, {} test pairs)", d.datasets.back().pairs.size(), d.sts_test.size()));
  }
  train::GritDataset titles{"titles", kTitleInstruction, {}};
  for (const char* name : {"cranfield", "cisi", "lisa"})
    if (const auto dir = beir_dir(ctx, name))
      for (const auto& doc : retrieval::read_beir_collection(*dir).corpus)
        if (!doc.title.empty() && !doc.text.empty()) titles.pairs.push_back({doc.title, doc.text, doc.id, {}});
  if (!titles.pairs.empty()) {
    parts.push_back(fmt::format("title -> abstract pseudo-queries ({} from Cranfield/CISI/LISA)", titles.pairs.size()));
    d.datasets.push_back(std::move(titles));
  }
  for (const char* name : {"cranfield", "med"})
    if (const auto dir = beir_dir(ctx, name)) {
      auto collection = retrieval::read_beir_collection(*dir);
      std::vector<retrieval::Query> judged;
      for (const auto& q : collection.queries)
        if (collection.qrels.count(q.id)) judged.push_back(q);
      collection.queries = judged;
      d.collections.emplace_back(name, std::move(collection));
    }
  if (d.sts_test.empty() && d.collections.empty())
    parts.push_back("no STS-B, Cranfield or MED under the data root: the embedding score is held-out definition retrieval alone");
  d.used = join(parts, "; ");
  return d;
}

// ---- the arms ----------------------------------------------------------------------------

struct ArmSpec {
  std::string name, attention, pooling;
  train::GritMode mode;
};

const char* const kEmbOnly = "Emb.-only (bbcc, mean)";
const char* const kGenOnly = "Gen.-only";
const char* const kGrit = "GRIT (bbcc, mean)";
const char* const kGritLast = "GRIT (cccc, last token)";
const char* const kGritWmean = "GRIT (cccc, weighted mean)";

struct ArmScores {
  std::map<std::string, double> embedding;  // per task, x 100
  double embedding_score = 0;
  double perplexity = 0;
  double rep_loss_step1 = 0, gen_loss_step1 = 0;
  double seconds = 0;
};

train::GritOptions grit_options(const Sizes& s, train::GritMode mode) {
  train::GritOptions o;
  o.mode = mode;
  o.group_size = 2;
  o.temperature = 0.05;
  o.gen_batch = s.gen_batch;
  o.query_tokens = 16;
  o.passage_tokens = 48;
  o.gen_tokens = 96;
  o.embed_max_tokens = 64;  // documents are cut at 64 tokens when embedded (the spec's setting)
  return o;
}

ArmScores evaluate_arm(model::LoadedGrit& model, const Data& d, const train::GritOptions& options) {
  ArmScores out;
  auto& embedder = model.embedder;
  const auto& tokenizer = *model.tokenizer;
  std::vector<eval::EmbeddingTask> tasks;
  if (!d.sts_test.empty()) {
    tasks.push_back(eval::EmbeddingTask::sts_task("STS-B Spearman", d.sts_test));
    tasks.back().instruction = kStsInstruction;
  }
  for (const auto& [name, collection] : d.collections) tasks.push_back(eval::EmbeddingTask::retrieval_task(name + " nDCG@10", collection));
  if (!tasks.empty()) {
    const auto suite = eval::evaluate_embeddings(embedder, tokenizer, tasks, 64, eval::TextFormat::grit);
    for (const auto& [name, score] : suite.scores) out.embedding[name] = score;
  }
  const auto encoded = retrieval::encode_collection(embedder, tokenizer, d.definitions, model::grit_embedding_prefix(kDefinitionInstruction), 64,
                                                    false, model::grit_embedding_prefix(""));
  const auto run = retrieval::hits_to_run(retrieval::exact_search(encoded.docs, encoded.queries, 10), encoded.query_ids, encoded.doc_ids);
  out.embedding["definition MRR@10"] = 100 * eval::evaluate_run(run, d.definitions.qrels, {"mrr@10"}).mean.at("mrr@10");
  for (const auto& [name, score] : out.embedding) out.embedding_score += score / static_cast<double>(out.embedding.size());
  out.perplexity = std::exp(train::mean_response_loss(model, d.held_out_generations, options, 16));
  return out;
}

// ---- RAG ---------------------------------------------------------------------------------

struct Facts {
  std::vector<std::string> documents;
  std::vector<train::GritGeneration> training;  // questions with their document, both orders
  train::GritDataset retrieval;                 // training questions -> their documents
  struct Question {
    std::string text, answer;
    int64_t document;
  };
  std::vector<Question> held_out;
};

// "<Entity> was founded in <City> in <year>.": made-up syllable names (no other text has
// them), 30 cities, years 1700-1999. Each city is one piece of the shipped base tokenizer, so
// that answering is copying one token from the document: a model of this size learns that
// within the step budget, while copying a year's four digit pieces or a made-up city's
// syllables it does not. The questions ask where; the years stay in the documents as
// distractors. The first half of the entities trains answering from a document (each question
// in both orders); questions about the rest are held out.
Facts make_facts(const Context& ctx, const Sizes& s) {
  const std::vector<std::string> cities = {"Africa", "Asia",   "Assyria", "Babylon", "Canaan", "Canada", "China",  "Edom",
                                           "Egypt",  "England", "Europe", "Florida", "France", "Gilead", "India",  "Ireland",
                                           "Italy",  "Japan",  "Jerusalem", "Jordan", "Lebanon", "London", "Mexico", "Moab",
                                           "Paris",  "Rome",   "Samaria", "Spain",  "Syria",  "Texas"};
  std::mt19937_64 rng(ctx.seed + 202);
  std::set<std::string> seen(cities.begin(), cities.end());
  Facts f;
  f.retrieval = {"facts", kFactInstruction, {}};
  std::uniform_int_distribution<size_t> pick_city(0, cities.size() - 1);
  std::uniform_int_distribution<int> pick_year(1700, 1999);
  const size_t train_entities = s.facts - s.facts / 2;
  for (size_t i = 0; i < s.facts; ++i) {
    std::string entity;
    do entity = text::capitalised(text::syllable_word(rng, 2, 4));
    while (!seen.insert(entity).second);
    const auto city = cities[pick_city(rng)];
    f.documents.push_back(fmt::format("{} was founded in {} in {}.", entity, city, pick_year(rng)));
    const std::string question = fmt::format("Where was {} founded?", entity);
    if (i < train_entities) {
      for (const auto order : {model::RagOrder::query_first, model::RagOrder::doc_first})
        f.training.push_back({question, city, f.documents.back(), kFactInstruction, order});
      f.retrieval.pairs.push_back({question, f.documents.back(), std::to_string(i), {}});
    } else if (f.held_out.size() < s.questions) {
      f.held_out.push_back({question, city, static_cast<int64_t>(i)});
    }
  }
  return f;
}

struct Variant {
  std::string name;
  retrieval::RagOptions options;
};

std::vector<Variant> rag_variants(int64_t new_tokens) {
  std::vector<Variant> out;
  auto add = [&](std::string name, retrieval::RagCache cache, model::RagOrder order, bool retrieve) {
    retrieval::RagOptions o;
    o.cache = cache;
    o.order = order;
    o.retrieve = retrieve;
    o.instruction = kFactInstruction;
    o.max_new_tokens = new_tokens;
    out.push_back({std::move(name), o});
  };
  using retrieval::RagCache;
  add("No RAG", RagCache::none, model::RagOrder::query_first, false);
  add("RAG (query first)", RagCache::none, model::RagOrder::query_first, true);
  add("RAG (doc first)", RagCache::none, model::RagOrder::doc_first, true);
  add("Query caching", RagCache::query, model::RagOrder::query_first, true);
  add("Doc caching", RagCache::doc, model::RagOrder::doc_first, true);
  add("Query-Doc caching", RagCache::query_doc, model::RagOrder::query_first, true);
  add("Doc-Query caching", RagCache::doc_query, model::RagOrder::doc_first, true);
  return out;
}

// Max |logit difference| between plain RAG and a cached variant over the first answer token.
double max_logit_difference(retrieval::GritRag& rag, const std::vector<Facts::Question>& questions, retrieval::RagOptions plain,
                            retrieval::RagOptions cached) {
  plain.first_logits = cached.first_logits = true;
  double worst = 0;
  for (const auto& q : questions) {
    const auto a = rag.answer(q.text, plain, q.document), b = rag.answer(q.text, cached, q.document);
    worst = std::max(worst, (a.first_logits - b.first_logits).abs().max().item<double>());
  }
  return worst;
}

// KJV verses joined until they make `tokens` tokens (cut there): a long filler document.
std::string filler(const text::Tokenizer& tokenizer, size_t tokens) {
  std::string text;
  for (const auto& verse : text::bible_verses()) {
    text += (text.empty() ? "" : " ") + verse;
    if (tokenizer.encode(text).size() >= tokens) break;
  }
  auto ids = tokenizer.encode(text);
  ids.resize(std::min(ids.size(), tokens));
  return tokenizer.decode(ids);
}

struct Latency {
  double rag_a = 0, doc_cache_a = 0, rag_b = 0, query_cache_b = 0;  // median seconds
  double doc_gain() const { return 1 - doc_cache_a / rag_a; }
  double query_gain() const { return 1 - query_cache_b / rag_b; }
};

// Sample A: a one-word query and a long document; sample B: a long query and a one-word
// document. Plain RAG against the cache of the long part, alternating, median of `reps`.
Latency measure_latency(model::LoadedGrit& model, const fs::path& dir, size_t tokens, size_t reps, int64_t new_tokens) {
  const auto long_text = filler(*model.tokenizer, tokens);
  const std::vector<std::string> documents{long_text, "Rome"};
  retrieval::DenseOptions dense;
  retrieval::Matrix vectors{2, model.embedder->dims(), std::vector<float>(static_cast<size_t>(2 * model.embedder->dims()), 0.0f)};
  vectors.data[0] = vectors.data[static_cast<size_t>(model.embedder->dims()) + 1] = 1.0f;
  retrieval::build_dense_index(vectors, {"long", "short"}, dir, dense, Json::object());
  retrieval::StatesStoreOptions store;
  store.max_tokens = static_cast<int64_t>(tokens) + 8;
  retrieval::store_document_states(model, documents, dir, store, false);
  retrieval::GritRag rag(model, dir, documents);
  retrieval::RagOptions base;
  base.max_new_tokens = new_tokens;
  base.stop_at_eos = false;  // every variant decodes the same number of tokens
  base.query_tokens = base.document_tokens = static_cast<int64_t>(tokens) + 8;
  auto rag_a = base, doc_a = base, rag_b = base, query_b = base;
  rag_a.order = model::RagOrder::doc_first;
  doc_a.cache = retrieval::RagCache::doc;
  query_b.cache = retrieval::RagCache::query;
  std::vector<double> t_rag_a, t_doc_a, t_rag_b, t_query_b;
  rag.answer("Who?", rag_a, 0);  // warm-up
  for (size_t r = 0; r < reps; ++r) {
    const bool cached_first = r % 2 == 1;
    auto time = [&](const std::string& query, const retrieval::RagOptions& o, int64_t doc) { return rag.answer(query, o, doc).seconds; };
    if (cached_first) {
      t_doc_a.push_back(time("Who?", doc_a, 0));
      t_rag_a.push_back(time("Who?", rag_a, 0));
      t_query_b.push_back(time(long_text, query_b, 1));
      t_rag_b.push_back(time(long_text, rag_b, 1));
    } else {
      t_rag_a.push_back(time("Who?", rag_a, 0));
      t_doc_a.push_back(time("Who?", doc_a, 0));
      t_rag_b.push_back(time(long_text, rag_b, 1));
      t_query_b.push_back(time(long_text, query_b, 1));
    }
  }
  return {median(t_rag_a), median(t_doc_a), median(t_rag_b), median(t_query_b)};
}

// ---- the run -----------------------------------------------------------------------------

Result run(const Context& ctx) {
  Result result;
  const Sizes s = sizes_for(ctx);
  const auto base = shared_base_lm(ctx);
  result.base_recipe = base.recipe;
  say(ctx, kSlug, "data: WordNet, KJV, STS-B and the IR collections' titles");
  const Data d = build_data(ctx, s);
  const auto train_config = [&](int64_t steps) {
    auto tc = finetune_config(steps, s.embed_batch, 1e-3, std::max<int64_t>(1, steps * 3 / 100), ctx.seed, base.bf16);
    tc.weight_decay = 0.0;
    return tc;
  };

  // E1 and E2: five arms side by side, the same steps and data.
  const std::vector<ArmSpec> arms = {{kEmbOnly, "bbcc", "mean", train::GritMode::embedding},
                                     {kGenOnly, "bbcc", "mean", train::GritMode::generative},
                                     {kGrit, "bbcc", "mean", train::GritMode::unified},
                                     {kGritLast, "cccc", "last_token", train::GritMode::unified},
                                     {kGritWmean, "cccc", "weighted_mean", train::GritMode::unified}};
  std::vector<ArmScores> scores(arms.size());
  const auto arm_dir = [&](size_t a) { return ctx.out / "runs" / fmt::format("arm{}", a); };
  std::vector<Job> jobs;
  for (size_t a = 0; a < arms.size(); ++a)
    jobs.push_back({arms[a].name, [&, a] {
                      const auto& arm = arms[a];
                      const auto options = grit_options(s, arm.mode);
                      Stopwatch watch;
                      const bool embeds = arm.mode != train::GritMode::generative, generates = arm.mode != train::GritMode::embedding;
                      const auto trained = train::train_grit(base.model, arm.attention, arm.pooling, embeds ? d.datasets : std::vector<train::GritDataset>{},
                                                             generates ? d.generations : std::vector<train::GritGeneration>{}, {}, {}, options,
                                                             train_config(s.steps), arm_dir(a), false, true, ctx.device);
                      auto model = model::load_grit(train::model_folder(arm_dir(a)), ctx.device);
                      scores[a] = evaluate_arm(model, d, options);
                      scores[a].rep_loss_step1 = trained.losses.first_rep;
                      scores[a].gen_loss_step1 = trained.losses.first_gen;
                      scores[a].seconds = watch.seconds();
                    }});
  say(ctx, kSlug, fmt::format("E1/E2: {} arms x {} steps (embedding batch {} x 2 passages, generative batch {})", arms.size(), s.steps,
                              s.embed_batch, s.gen_batch));
  run_side_by_side(ctx, "arms", jobs);

  Table e1{"E1 and E2: embedding tasks (x 100) and held-out response perplexity; same steps and data", {"arm"}, {}};
  for (const auto& [task, value] : scores.front().embedding) e1.header.push_back(task);
  e1.header.insert(e1.header.end(), {"embedding score", "perplexity", "L_rep / L_gen at step 1", "seconds"});
  Json arm_figures = Json::object();
  for (size_t a = 0; a < arms.size(); ++a) {
    const auto& sc = scores[a];
    std::vector<Cell> row{arms[a].name};
    for (const auto& [task, value] : sc.embedding) row.push_back(num(value, 1));
    row.push_back(num(sc.embedding_score, 2));
    row.push_back(num(sc.perplexity, 2));
    row.push_back(sc.rep_loss_step1 > 0 && sc.gen_loss_step1 > 0 ? num(sc.rep_loss_step1 / sc.gen_loss_step1, 2) : missing());
    row.push_back(num(sc.seconds, 0));
    e1.rows.push_back(row);
    arm_figures[arms[a].name] = {{"embedding_score", sc.embedding_score}, {"perplexity", sc.perplexity}, {"tasks", sc.embedding},
                                 {"rep_loss_step1", sc.rep_loss_step1}, {"gen_loss_step1", sc.gen_loss_step1}};
  }

  // E3: the GRIT arm trained further on retrieving and answering from documents.
  say(ctx, kSlug, fmt::format("E3: {} more steps of GRIT on answering from a document", s.rag_steps));
  const Facts facts = make_facts(ctx, s);
  // Answering from a document is new to the model and needs the whole budget: E3 trains on the
  // facts alone (retrieving them and answering from them), with larger generative batches.
  const std::vector<train::GritDataset> datasets{facts.retrieval};
  const auto rag_dir = ctx.out / "runs" / "rag";
  auto rag_options = grit_options(s, train::GritMode::unified);
  rag_options.gen_batch = 4 * s.gen_batch;
  train::train_grit(train::model_folder(arm_dir(2)), "", "mean", datasets, facts.training, {}, {}, rag_options, train_config(s.rag_steps), rag_dir,
                    false, ctx.quiet, ctx.device);
  auto grit = model::load_grit(train::model_folder(rag_dir), ctx.device);

  // Two indexes of the facts: document states from the embedding pass (bidirectional, as
  // GritLM) and from a causal pass; float32 so that only the attention differs.
  std::vector<std::string> ids;
  for (size_t i = 0; i < facts.documents.size(); ++i) ids.push_back(std::to_string(i));
  const auto vectors = retrieval::to_matrix(model::encode_texts(grit.embedder, *grit.tokenizer, facts.documents, model::grit_embedding_prefix(""), 64));
  std::map<retrieval::StatesAttention, fs::path> index_dirs;
  for (const auto attention : {retrieval::StatesAttention::embedding, retrieval::StatesAttention::causal}) {
    const auto dir = ctx.out / "runs" / ("facts-index-" + retrieval::to_string(attention));
    retrieval::DenseOptions dense;
    retrieval::build_dense_index(vectors, ids, dir, dense, Json::object());
    retrieval::StatesStoreOptions store;
    store.attention = attention;
    store.dtype = torch::kFloat32;
    retrieval::store_document_states(grit, facts.documents, dir, store, false);
    index_dirs[attention] = dir;
  }
  retrieval::GritRag rag(grit, index_dirs[retrieval::StatesAttention::embedding], facts.documents);
  retrieval::GritRag causal_rag(grit, index_dirs[retrieval::StatesAttention::causal], facts.documents);

  say(ctx, kSlug, fmt::format("E3: {} held-out questions x 7 variants", facts.held_out.size()));
  Table e3{"E3: answers to held-out questions (match = the gold city in the answer)", {"variant", "match %", "top-1 document %", "seconds per answer"}, {}};
  Json quality = Json::object();
  for (const auto& variant : rag_variants(s.new_tokens)) {
    int64_t matched = 0, found = 0;
    double seconds = 0;
    for (const auto& question : facts.held_out) {
      const auto answer = rag.answer(question.text, variant.options);
      matched += answer.answer.find(question.answer) != std::string::npos ? 1 : 0;
      found += answer.document == question.document ? 1 : 0;
      seconds += answer.seconds;
    }
    const double n = static_cast<double>(facts.held_out.size());
    e3.rows.push_back({variant.name, pct(matched / n), variant.options.retrieve ? pct(found / n) : missing(), num(seconds / n, 4)});
    quality[variant.name] = {{"match", matched / n}, {"top1", found / n}};
  }

  say(ctx, kSlug, "E3: exactness of cached states against plain RAG");
  std::vector<Facts::Question> probe(facts.held_out.begin(),
                                     facts.held_out.begin() + static_cast<std::ptrdiff_t>(std::min(s.exactness_questions, facts.held_out.size())));
  retrieval::RagOptions plain_doc_first, plain_query_first, doc_cache, query_cache, causal_query_cache;
  for (auto* o : {&plain_doc_first, &plain_query_first, &doc_cache, &query_cache, &causal_query_cache}) o->instruction = kFactInstruction;
  plain_doc_first.order = model::RagOrder::doc_first;
  doc_cache.cache = retrieval::RagCache::doc;
  query_cache.cache = causal_query_cache.cache = retrieval::RagCache::query;
  causal_query_cache.query_states = retrieval::StatesAttention::causal;
  const Json exactness = {
      {"doc_causal", max_logit_difference(causal_rag, probe, plain_doc_first, doc_cache)},
      {"query_causal", max_logit_difference(rag, probe, plain_query_first, causal_query_cache)},
      {"doc_embedding", max_logit_difference(rag, probe, plain_doc_first, doc_cache)},
      {"query_embedding", max_logit_difference(rag, probe, plain_query_first, query_cache)}};
  Table exact{"E3: max |logit difference| of the first answer token against plain RAG (same document)", {"states", "Doc caching (doc first)", "Query caching (query first)"}, {}};
  exact.rows.push_back({"causal pass", num(exactness["doc_causal"].get<double>(), 7), num(exactness["query_causal"].get<double>(), 7)});
  exact.rows.push_back({"embedding pass (" + grit.attention.code + ")", num(exactness["doc_embedding"].get<double>(), 4),
                        num(exactness["query_embedding"].get<double>(), 4)});

  say(ctx, kSlug, fmt::format("E3: latency with {}-token and 32-token cached parts", s.latency_tokens));
  const auto long_run = measure_latency(grit, ctx.out / "runs" / "latency-long", s.latency_tokens, s.latency_reps, 16);
  const auto short_run = measure_latency(grit, ctx.out / "runs" / "latency-short", 32, s.latency_reps, 16);
  Table latency{"E3: CPU latency (median seconds: query embedding, states, prompt and 16 new tokens)",
                {"cached part", "sample A: RAG", "A: Doc caching", "A: gain", "sample B: RAG", "B: Query caching", "B: gain"}, {}};
  Json latency_figures = Json::object();
  for (const auto& [label, l] : {std::pair{fmt::format("{} tokens", s.latency_tokens), long_run}, std::pair{std::string("32 tokens"), short_run}}) {
    latency.rows.push_back({label, num(l.rag_a, 4), num(l.doc_cache_a, 4), pct(l.doc_gain()), num(l.rag_b, 4), num(l.query_cache_b, 4), pct(l.query_gain())});
  }
  latency_figures = {{"long_tokens", s.latency_tokens},
                     {"long", {{"doc_gain", long_run.doc_gain()}, {"query_gain", long_run.query_gain()}, {"rag_a", long_run.rag_a},
                               {"doc_cache_a", long_run.doc_cache_a}, {"rag_b", long_run.rag_b}, {"query_cache_b", long_run.query_cache_b}}},
                     {"short", {{"doc_gain", short_run.doc_gain()}, {"query_gain", short_run.query_gain()}, {"rag_a", short_run.rag_a},
                                {"doc_cache_a", short_run.doc_cache_a}, {"rag_b", short_run.rag_b}, {"query_cache_b", short_run.query_cache_b}}}};

  result.tables = {e1, e3, exact, latency};
  result.figures = {{"arms", arm_figures}, {"rag", quality}, {"exactness", exactness}, {"latency", latency_figures}};
  result.data_used = fmt::format("{}; synthetic facts ({} entities, {} held-out questions); base LM {} pretrained on {}", d.used,
                                 facts.documents.size(), facts.held_out.size(), base.recipe, base.sources);
  result.notes.push_back(fmt::format(
      "Every arm: the base LM with <|user|>, <|embed|> and <|assistant|> added as tokens, {} steps, lr 1e-3 (3% warm-up, cosine), no weight "
      "decay; embedding batches of {} queries (16 tokens) x 2 passages (48 tokens; the positive and a sister-synset negative for WordNet, "
      "else another positive of the same dataset), each from one dataset, temperature 0.05; generative batches of {} rows (96 tokens), "
      "mixed aggregation; lambda_rep = lambda_gen = 1 (the 7B script). Embedding-only and generative-only drop the other loss.",
      s.steps, s.embed_batch, s.gen_batch));
  result.notes.push_back(
      "Embedding score: the mean of STS-B test Spearman, held-out WordNet definition retrieval MRR@10 (held-out lemmas against every "
      "gloss), and Cranfield and MED nDCG@10 (documents cut at 64 tokens), whichever the data root has. Perplexity: held-out definitions "
      "and KJV continuations, per response token.");
  result.notes.push_back(
      "RAG prompt: the query's and the document's embedding rows in order, then <|assistant|>; caching replaces a row by its stored states. "
      "Embedding-pass states are bidirectional (bbcc) and differ from the causal states the answer was trained on; Query-Doc and "
      "Doc-Query join two parts computed apart. Latency is measured with one thread per arm on this CPU; ratios, not seconds, are judged.");
  return result;
}

// ---- criteria ----------------------------------------------------------------------------

std::vector<Criterion> criteria(const Json& figures) {
  const Json& arms = field(figures, "arms");
  const auto emb = [&](const char* arm) { return q(std::string(arm) + " embedding score", number(field(arms, arm), "embedding_score"), 2); };
  const auto ppl = [&](const char* arm) { return q(std::string(arm) + " perplexity", number(field(arms, arm), "perplexity"), 2); };
  const Json& rag = field(figures, "rag");
  const auto match = [&](const char* variant) { return q(std::string(variant) + " match %", 100 * number(field(rag, variant), "match"), 1); };
  const Json& exact = field(figures, "exactness");
  const Json& latency = field(figures, "latency");
  const auto gain = [&](const char* length, const char* key, const std::string& shown) {
    return q(shown, 100 * number(field(latency, length), key), 1);
  };
  return {
      criterion("1. one model does both: GRIT embeds within 1.5 of Emb.-only and generates within 10% of Gen.-only's perplexity, while each "
                "single-objective model fails the other task (paper: 66.8/55.5 vs 66.8 and 55.2; 41.2 and 7.6 across)",
                {at_least(emb(kGrit), emb(kEmbOnly), -1.5), ratio_at_most(ppl(kGrit), ppl(kGenOnly), 1.10),
                 ratio_at_least(ppl(kEmbOnly), ppl(kGenOnly), 1.5), at_most(emb(kGenOnly), emb(kGrit), -5)}),
      criterion("2. bidirectional attention with mean pooling embeds better than causal with the last token (paper: 64.0 vs 61.2)",
                {above(emb(kGrit), emb(kGritLast))}),
      criterion("3. causal states cached are exact (max |logit difference| < 1e-4 for Doc and Query caching); the embedding pass's states "
                "are not (> 1e-4)",
                {below(q("Doc caching, causal states", number(exact, "doc_causal"), 7), 1e-4),
                 below(q("Query caching, causal states", number(exact, "query_causal"), 7), 1e-4),
                 above(q("Doc caching, embedding states", number(exact, "doc_embedding"), 4), 1e-4),
                 above(q("Query caching, embedding states", number(exact, "query_embedding"), 4), 1e-4)}),
      criterion("4. caching saves time on long parts (>= 40% at the long length for Doc caching on sample A and Query caching on sample B; "
                "< 15% at 32 tokens; paper: 63% and 54% at 4000 tokens, none at 250)",
                {at_least(gain("long", "doc_gain", "Doc caching gain %, sample A"), 40),
                 at_least(gain("long", "query_gain", "Query caching gain %, sample B"), 40),
                 below(gain("short", "doc_gain", "Doc caching gain % at 32 tokens"), 15),
                 below(gain("short", "query_gain", "Query caching gain % at 32 tokens"), 15)}),
      criterion("5. retrieval helps and joining parts computed apart hurts (paper: RAG 30.5 > No RAG 21.0; Query-Doc 21.6, Doc-Query 18.4)",
                {above(match("RAG (query first)"), match("No RAG")), above(match("RAG (doc first)"), match("No RAG")),
                 below(match("Query-Doc caching"), match("RAG (query first)")), below(match("Doc-Query caching"), match("RAG (doc first)"))}),
  };
}

const Registration registered{{
    .slug = kSlug,
    .title = "GritLM: generative representational instruction tuning",
    .paper = "Muennighoff, Su, Wang, Yang, Wei, Yu, Singh, Kiela, Generative Representational Instruction Tuning, arXiv:2402.09906",
    .claim = "One model trained jointly on embedding (contrastive, bidirectional, mean pooling) and generative (next-token) instruction "
             "data matches embedding-only and generative-only models on their own tasks, and as retriever and reader it can reuse "
             "cached key/value states of queries or documents, which saves time on long ones.",
    .budget = "quick: about 7 minutes on 2 CPU cores (five 200-step arms two at a time, 300 more steps on the facts, the RAG variants and latency); "
              "full: 1000-step arms",
    .figures_version = 1,
    .run = run,
    .criteria = criteria,
}};

}  // namespace

}  // namespace garden::repro::gritlm
