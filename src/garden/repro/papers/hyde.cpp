// Reproduction of "Precise Zero-Shot Dense Retrieval without Relevance Labels" (HyDE; Gao,
// Ma, Lin, Callan, ACL 2023, arXiv:2212.10496), small scale: per collection, the shared base
// LM fine-tuned on the corpus as "Title: {title}\nAbstract: {body}" stands in for the
// instruction-following generator, an encoder of the same size trained with Contriever's
// independent cropping on the corpus stands in for Contriever, and HyDE searches with the
// mean of N generated abstracts and the query. No relevance labels and no queries are used in
// training. Criteria follow ../papers/hyde.md "Small-scale reproduction".
#include <fmt/core.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/eval/ir_metrics.h"
#include "garden/model/embedder.h"
#include "garden/model/model_folder.h"
#include "garden/repro/embedding_setup.h"
#include "garden/repro/toolkit.h"
#include "garden/retrieval/bm25.h"
#include "garden/retrieval/collection.h"
#include "garden/retrieval/dense.h"
#include "garden/retrieval/hyde.h"
#include "garden/retrieval/training_pairs.h"
#include "garden/text/prepare.h"
#include "garden/text/wordnet_instructions.h"
#include "garden/train/batches.h"
#include "garden/train/embedder_training.h"

namespace garden::repro::hyde {

namespace {

namespace fs = std::filesystem;

const char* const kSlug = "hyde";
const char* const kPrompt = "Title: {query}\nAbstract:";

struct Sizes {
  int64_t generator_steps, generator_batch, generator_tokens;
  int64_t encoder_steps, encoder_batch, encoder_tokens;
  int64_t n;                // documents generated per query
  int64_t new_tokens;       // of each
  int64_t seeds;            // sampling seeds for N = 8 against N = 1
  size_t max_queries;       // per collection
  size_t fallback_synsets;  // the WordNet fallback's documents
};

Sizes sizes_for(const Context& ctx) {
  return {.generator_steps = ctx.pick<int64_t>(4, 500, 2000),
          .generator_batch = ctx.pick<int64_t>(4, 16, 32),
          .generator_tokens = ctx.pick<int64_t>(32, 112, 128),
          .encoder_steps = ctx.pick<int64_t>(4, 150, 600),
          .encoder_batch = ctx.pick<int64_t>(8, 64, 64),
          .encoder_tokens = ctx.pick<int64_t>(32, 64, 128),
          .n = ctx.pick<int64_t>(2, 8, 8),
          .new_tokens = ctx.pick<int64_t>(8, 48, 96),
          .seeds = ctx.pick<int64_t>(1, 3, 3),
          .max_queries = ctx.pick<size_t>(6, 100000, 100000),
          .fallback_synsets = ctx.pick<size_t>(60, 1000, 1000)};
}

// ---- data --------------------------------------------------------------------------------

struct Dataset {
  std::string name;
  fs::path dir;  // BEIR folder (written to the run folder for the fallback)
  retrieval::Collection collection;
};

// The title a generator sees: the document's title, or its first sentence when it has none
// (MED), the rest then being the abstract.
std::pair<std::string, std::string> title_and_body(const retrieval::Document& d) {
  if (!d.title.empty()) return {d.title, d.text};
  const auto stop = d.text.find(". ");
  if (stop == std::string::npos || stop > 300) return {d.text.substr(0, std::min<size_t>(d.text.size(), 120)), d.text};
  return {d.text.substr(0, stop + 1), d.text.substr(stop + 2)};
}

// Without a data root: WordNet noun synsets with two single-word lemmas; the document is the
// gloss titled by the first lemma, the query the second lemma (a title the generator never
// saw, of a document it did).
Dataset wordnet_fallback(const Context& ctx, size_t count) {
  auto synsets = text::wordnet_synsets(ctx.wordnet, {"noun"});
  std::mt19937_64 rng(ctx.seed + 17);
  std::shuffle(synsets.begin(), synsets.end(), rng);
  Dataset d{"wordnet-synonyms", ctx.out / "runs" / "wordnet-synonyms", {}};
  for (const auto& s : synsets) {
    if (d.collection.corpus.size() >= count) break;
    std::vector<std::string> single;
    for (const auto& l : s.lemmas)
      if (text::is_single_word(l)) single.push_back(l);
    const auto gloss = text::gloss_definition(s.gloss);
    if (single.size() < 2 || gloss.empty()) continue;
    const std::string id = std::to_string(d.collection.corpus.size());
    d.collection.corpus.push_back({id, single[0], gloss});
    d.collection.queries.push_back({id, single[1]});
    d.collection.qrels[id][id] = 1;
  }
  write_beir_collection(d.collection, d.dir);
  return d;
}

std::vector<Dataset> datasets(const Context& ctx, const Sizes& sizes, std::string& used) {
  std::vector<Dataset> out;
  std::vector<std::string> parts;
  for (const char* name : {"cranfield", "med", "cisi"})
    if (auto dir = beir_dir(ctx, name)) out.push_back({name, *dir, retrieval::read_beir_collection(*dir)});
  if (out.empty()) {
    out.push_back(wordnet_fallback(ctx, sizes.fallback_synsets));
    parts.push_back("no Cranfield, MED or CISI under the data root: WordNet synonym -> gloss retrieval");
  }
  for (auto& d : out) {
    auto& queries = d.collection.queries;
    std::vector<retrieval::Query> judged;
    for (const auto& q : queries)
      if (d.collection.qrels.count(q.id)) judged.push_back(q);
    if (judged.size() > sizes.max_queries) judged.resize(sizes.max_queries);
    queries = judged;
    parts.push_back(fmt::format("{} ({} documents, {} judged queries)", d.name, d.collection.corpus.size(), queries.size()));
  }
  used = join(parts, "; ");
  return out;
}

// ---- the generator and the encoder (cached per collection) -------------------------------

fs::path generator_for(const Context& ctx, const Sizes& s, const train::BaseLm& base, const Dataset& d, Artifact& artifact) {
  const Json key = {{"base_weights_sha256", sha256_file_hex(base.model / "model.safetensors")},
                    {"corpus_sha256", sha256_file_hex(d.dir / "corpus.jsonl")},
                    {"steps", s.generator_steps}, {"batch", s.generator_batch}, {"tokens", s.generator_tokens}, {"seed", ctx.seed}};
  artifact = ensure_artifact(ctx.cache, {"hyde-generator", 1, key}, [&](const fs::path& staged, const fs::path&) {
    auto lm = model::load_model(base.model, ctx.device);
    const auto tokenizer = text::load_tokenizer(lm.tokenizer_spec);
    std::vector<train::TokenRow> rows;
    for (const auto& doc : d.collection.corpus) {
      const auto [title, body] = title_and_body(doc);
      train::TokenRow row;
      row.tokens = tokenizer->encode(retrieval::fill_hyde_prompt(kPrompt, title) + " " + body);
      if (static_cast<int64_t>(row.tokens.size()) > s.generator_tokens - 2) row.tokens.resize(static_cast<size_t>(s.generator_tokens - 2));
      row.tokens.insert(row.tokens.begin(), tokenizer->bos_id());
      row.tokens.push_back(tokenizer->eos_id());
      row.counted.assign(row.tokens.size(), 1);
      rows.push_back(std::move(row));
    }
    std::vector<train::TokenRow> held(rows.begin(), rows.begin() + std::min<std::ptrdiff_t>(32, static_cast<std::ptrdiff_t>(rows.size())));
    train::TokenRowBatches data(rows, held, tokenizer->pad_id(), s.generator_batch, ctx.seed);
    auto tc = finetune_config(s.generator_steps, s.generator_batch, 1e-3, std::max<int64_t>(1, s.generator_steps / 20), ctx.seed, base.bf16);
    tc.seq = s.generator_tokens;
    train::Trainer trainer(tc, staged / "run");
    trainer.quiet = ctx.quiet;
    trainer.tokenizer_spec = lm.tokenizer_spec;
    trainer.fit(lm.model, data, false);
    model::save_model(staged / "model", lm.model, lm.tokenizer_spec);
    fs::remove_all(staged / "run");
  });
  return artifact.dir / "model";
}

fs::path encoder_for(const Context& ctx, const Sizes& s, const train::BaseLm& base, const Dataset& d, Artifact& artifact) {
  const Json key = {{"base_weights_sha256", sha256_file_hex(base.model / "model.safetensors")},
                    {"corpus_sha256", sha256_file_hex(d.dir / "corpus.jsonl")},
                    {"steps", s.encoder_steps}, {"batch", s.encoder_batch}, {"tokens", s.encoder_tokens}, {"seed", ctx.seed}};
  artifact = ensure_artifact(ctx.cache, {"crop-encoder", 1, key}, [&](const fs::path& staged, const fs::path&) {
    auto lm = model::load_model(base.model, ctx.device);
    const auto tokenizer = text::load_tokenizer(lm.tokenizer_spec);
    model::EmbedderConfig config;
    config.mask = model::MaskMode::bidirectional;
    config.pooling = model::Pooling::mean;
    config.max_tokens = s.encoder_tokens;
    config.bf16 = base.bf16;
    model::Embedder encoder(lm.model, config);
    retrieval::CropOptions crop;
    crop.seed = ctx.seed;
    crop.per_document = 4;
    const auto pairs = retrieval::independent_crop_pairs(d.collection, crop);
    train::EmbedObjectiveConfig objective;
    objective.contrastive.temperature = 0.05;
    const auto tc = finetune_config(s.encoder_steps, s.encoder_batch, 1e-4, std::min<int64_t>(10, s.encoder_steps - 1), ctx.seed, base.bf16);
    train::Trainer trainer(tc, staged / "run");
    trainer.quiet = ctx.quiet;
    torch::manual_seed(static_cast<int64_t>(ctx.seed));
    trainer.fit(*encoder, train::contrastive_objective(encoder, *tokenizer, pairs, {}, objective, tc, lm.tokenizer_spec), false);
    model::save_embedder(staged / "embedder", encoder, lm.tokenizer_spec);
    fs::remove_all(staged / "run");
  });
  return artifact.dir / "embedder";
}

// ---- scoring -----------------------------------------------------------------------------

struct Scores {
  double ndcg = 0, recall = 0;
};

Scores scores_of(const retrieval::Run& run, const retrieval::Qrels& qrels) {
  const auto e = eval::evaluate_run(run, qrels, {"ndcg@10", "recall@100"});
  return {e.mean.at("ndcg@10"), e.mean.at("recall@100")};
}

// The arms of one collection, each averaged over the sampling seeds where it samples.
struct CollectionResult {
  std::string name;
  int64_t queries = 0;
  std::map<std::string, Scores> arms;
};

const char* const kEncoder = "encoder(query)";
const char* const kHyde8 = "HyDE N=8";
const char* const kHyde1 = "HyDE N=1";
const char* const kHyde8NoQuery = "HyDE N=8 without the query";
const char* const kBm25 = "BM25";
const char* const kBm25Expanded = "BM25 on query + generated text";
const std::vector<const char*> kArms = {kEncoder, kHyde8, kHyde1, kHyde8NoQuery, kBm25, kBm25Expanded};

CollectionResult run_collection(const Context& ctx, const Sizes& s, const train::BaseLm& base, const Dataset& d) {
  CollectionResult out{d.name, static_cast<int64_t>(d.collection.queries.size()), {}};
  Artifact gen_artifact, enc_artifact;
  say(ctx, kSlug, d.name + ": the generator (title -> abstract)");
  const auto generator_dir = generator_for(ctx, s, base, d, gen_artifact);
  say(ctx, kSlug, d.name + ": the crop-contrastive encoder");
  const auto encoder_dir = encoder_for(ctx, s, base, d, enc_artifact);

  retrieval::EmbeddingModel encoder(encoder_dir);
  std::vector<std::string> ids, texts;
  for (const auto& doc : d.collection.corpus) {
    ids.push_back(doc.id);
    texts.push_back(retrieval::document_text(doc));
  }
  const fs::path index_dir = ctx.out / "runs" / (d.name + "-dense");
  retrieval::DenseOptions dense;
  dense.metric = "ip";  // Contriever's inner product, as the paper's flat index
  retrieval::build_dense_index(retrieval::encode_with_model(encoder, texts, "", 64, ""), ids, index_dir, dense,
                               retrieval::model_fingerprint(encoder_dir));
  const fs::path bm25_dir = ctx.out / "runs" / (d.name + "-bm25");
  retrieval::build_bm25_index(d.dir, bm25_dir, retrieval::Bm25Options{}, false);
  const retrieval::Bm25Index bm25(bm25_dir);
  const auto& queries = d.collection.queries;
  const auto& qrels = d.collection.qrels;
  out.arms[kBm25] = scores_of(bm25.search_all(queries, 100), qrels);

  auto lm = model::load_model(generator_dir, ctx.device);
  const auto generate = retrieval::lm_generator(lm.model, text::load_tokenizer(lm.tokenizer_spec), 64);
  for (int64_t seed = 0; seed < s.seeds; ++seed) {
    say(ctx, kSlug, fmt::format("{}: {} queries x {} abstracts, sampling seed {}", d.name, queries.size(), s.n, ctx.seed + seed));
    retrieval::HydeOptions options;
    options.prompt_template = kPrompt;
    options.sampling.n = s.n;
    options.sampling.temperature = 0.7;
    options.sampling.max_new_tokens = s.new_tokens;
    options.sampling.seed = ctx.seed + static_cast<uint64_t>(seed) * 1'000'003ULL;
    retrieval::HydeRetriever hyde(index_dir, encoder, generate, options);
    const auto run8 = hyde.search(queries, 100);
    const auto samples = hyde.last_generations();
    if (seed == 0) retrieval::write_hyde_generations(ctx.out / (d.name + "-generated.jsonl"), queries, samples);
    // N = 1 and N = 8 without the query reuse these samples (a stub generator hands them back).
    const auto replay = [&](size_t keep) {
      return [&samples, keep](const std::vector<std::string>&, const retrieval::HydeSampling&) {
        std::vector<std::vector<std::string>> kept;
        for (const auto& docs : samples) kept.emplace_back(docs.begin(), docs.begin() + static_cast<std::ptrdiff_t>(std::min(keep, docs.size())));
        return kept;
      };
    };
    auto one = options;
    one.sampling.n = 1;
    auto no_query = options;
    no_query.include_query = false;
    const auto run1 = retrieval::HydeRetriever(index_dir, encoder, replay(1), one).search(queries, 100);
    const auto run8q = retrieval::HydeRetriever(index_dir, encoder, replay(samples.front().size()), no_query).search(queries, 100);
    std::vector<retrieval::Query> expanded;
    for (size_t i = 0; i < queries.size(); ++i) {
      std::string text = queries[i].text;
      for (const auto& doc : samples[i]) text += " " + doc;
      expanded.push_back({queries[i].id, text});
    }
    const double share = 1.0 / static_cast<double>(s.seeds);
    for (const auto& [arm, run] : {std::pair{kHyde8, &run8}, std::pair{kHyde1, &run1}, std::pair{kHyde8NoQuery, &run8q}}) {
      const auto sc = scores_of(*run, qrels);
      out.arms[arm].ndcg += share * sc.ndcg;
      out.arms[arm].recall += share * sc.recall;
    }
    const auto bm = scores_of(bm25.search_all(expanded, 100), qrels);
    out.arms[kBm25Expanded].ndcg += share * bm.ndcg;
    out.arms[kBm25Expanded].recall += share * bm.recall;
  }
  retrieval::SearchOptions plain;
  plain.model = &encoder;
  out.arms[kEncoder] = scores_of(retrieval::open_index(index_dir, plain)->search(queries, 100), qrels);
  return out;
}

Result run(const Context& ctx) {
  Result result;
  const Sizes sizes = sizes_for(ctx);
  const auto base = shared_base_lm(ctx);
  result.base_recipe = base.recipe;
  std::string used;
  const auto sets = datasets(ctx, sizes, used);
  std::vector<CollectionResult> collections;
  for (const auto& d : sets) collections.push_back(run_collection(ctx, sizes, base, d));

  Table table{"nDCG@10 / Recall@100 (x 100) per collection; HyDE arms averaged over the sampling seeds", {"arm"}, {}};
  for (const auto& c : collections) {
    table.header.push_back(c.name + " nDCG@10");
    table.header.push_back(c.name + " R@100");
  }
  table.header.push_back("mean nDCG@10");
  table.header.push_back("mean R@100");
  Json arms = Json::object(), per_collection = Json::object();
  for (const char* arm : kArms) {
    std::vector<Cell> row{arm};
    double ndcg = 0, recall = 0;
    for (const auto& c : collections) {
      const auto& sc = c.arms.at(arm);
      row.push_back(num(100 * sc.ndcg, 1));
      row.push_back(num(100 * sc.recall, 1));
      ndcg += sc.ndcg / static_cast<double>(collections.size());
      recall += sc.recall / static_cast<double>(collections.size());
      per_collection[c.name][arm] = {{"ndcg10", sc.ndcg}, {"recall100", sc.recall}};
    }
    row.push_back(num(100 * ndcg, 1));
    row.push_back(num(100 * recall, 1));
    table.rows.push_back(row);
    arms[arm] = {{"ndcg10", ndcg}, {"recall100", recall}};
  }
  result.tables = {table};
  result.figures = {{"mean", arms}, {"collections", per_collection}, {"seeds", sizes.seeds}};
  result.data_used = fmt::format("{}; base LM {} pretrained on {}", used, base.recipe, base.sources);
  result.notes.push_back(fmt::format(
      "Generator per collection: the base LM fine-tuned {} steps of {} on its corpus as \"Title: {{title}}\\nAbstract: {{body}}\" (MED: "
      "the first sentence as the title), lr 1e-3; HyDE prompt \"Title: {{query}}\\nAbstract:\", N = {}, temperature 0.7, top_p 1, {} new "
      "tokens, {} sampling seed(s). N = 1 and N = 8 without the query reuse N = 8's samples.",
      sizes.generator_steps, sizes.generator_batch, sizes.n, sizes.new_tokens, sizes.seeds));
  result.notes.push_back(fmt::format(
      "Encoder per collection: the base LM, bidirectional, mean pooling, trained {} steps of {} on independent crops of its corpus (10-50% "
      "spans, 4 pairs per document, temperature 0.05, in-batch negatives): no queries and no relevance labels. Inner-product flat index.",
      sizes.encoder_steps, sizes.encoder_batch));
  result.notes.push_back(
      "No instruction-following LLM with world knowledge: the generator only knows its corpus, so HyDE here writes a document-like "
      "expansion of the query and searches document-document similarity, which overlaps with pseudo-relevance feedback; the last row "
      "(BM25 on the query and the generated text) shows how much of that is lexical expansion.");
  return result;
}

// ---- criteria ----------------------------------------------------------------------------

std::vector<Criterion> criteria(const Json& figures) {
  const Json& mean = field(figures, "mean");
  const auto m = [&](const char* arm, const char* key, const std::string& shown) {
    return q(std::string(arm) + " mean " + shown, 100 * number(field(mean, arm), key), 2);
  };
  return {
      criterion("1. HyDE beats the same encoder on the raw query (nDCG@10 by >= 2 points on average; Recall@100 higher)",
                {at_least(m(kHyde8, "ndcg10", "nDCG@10"), m(kEncoder, "ndcg10", "nDCG@10"), 2),
                 above(m(kHyde8, "recall100", "Recall@100"), m(kEncoder, "recall100", "Recall@100"))}),
      criterion("2. more hypothetical documents help (N = 8 at least N = 1 on average)",
                {at_least(m(kHyde8, "ndcg10", "nDCG@10"), m(kHyde1, "ndcg10", "nDCG@10"))}),
  };
}

const Registration registered{{
    .slug = kSlug,
    .title = "HyDE: precise zero-shot dense retrieval without relevance labels",
    .paper = "Gao, Ma, Lin, Callan, Precise Zero-Shot Dense Retrieval without Relevance Labels, ACL 2023, arXiv:2212.10496",
    .claim = "Without relevance labels, retrieving with the mean embedding of documents an instruction-following LM writes for the "
             "query (and the query itself) beats the same unsupervised encoder on the raw query.",
    .budget = "quick: about 1 minute on 2 CPU cores once each collection's generator and encoder are cached (about 13 minutes to "
              "build the three pairs once); full: longer generator and encoder training, 96 new tokens",
    .figures_version = 1,
    .run = run,
    .criteria = criteria,
}};

}  // namespace

}  // namespace garden::repro::hyde
