#include "garden/repro/reproduction.h"

#include <chrono>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/repro/report.h"

namespace garden::repro {

Result run_gated_attention(const Context& ctx);
Result run_succinct_transformers(const Context& ctx);
Result run_limit(const Context& ctx);
Result run_llm2vec(const Context& ctx);
Result run_matryoshka(const Context& ctx);
Result run_nv_embed(const Context& ctx);

std::string to_string(Verdict v) {
  switch (v) {
    case Verdict::reproduced: return "REPRODUCED";
    case Verdict::not_reproduced: return "NOT REPRODUCED";
    case Verdict::inconclusive: return "INCONCLUSIVE";
  }
  return "";
}

void decide_verdict(Result& result) {
  std::string failed_gates, failed;
  for (const auto& c : result.criteria) {
    if (c.passed) continue;
    auto& list = c.gate ? failed_gates : failed;
    list += (list.empty() ? "" : "; ") + c.description;
  }
  if (result.criteria.empty()) {
    result.verdict = Verdict::inconclusive;
    result.verdict_reason = "no criteria were evaluated";
  } else if (!failed_gates.empty()) {
    result.verdict = Verdict::inconclusive;
    result.verdict_reason = "precondition not met: " + failed_gates;
  } else if (!failed.empty()) {
    result.verdict = Verdict::not_reproduced;
    result.verdict_reason = "failed: " + failed;
  } else {
    result.verdict = Verdict::reproduced;
    result.verdict_reason = "all criteria met";
  }
}

const std::vector<Reproduction>& registry() {
  static const std::vector<Reproduction> reproductions = {
      {"gated-attention", "Gated attention: a sigmoid gate after SDPA",
       "Qiu et al., Gated Attention for Large Language Models: Non-linearity, Sparsity, and Attention-Sink-Free, "
       "NeurIPS 2025, arXiv:2505.06708",
       "A head-specific, query-dependent sigmoid gate on each head's SDPA output (G1) lowers perplexity, makes "
       "training stable at high learning rates, and removes the attention sink and massive activations.",
       "quick: about 8-10 minutes on 2 CPU cores; full: hours on a GPU", run_gated_attention},
      {"limit", "LIMIT: theoretical limits of embedding-based retrieval",
       "Weller, Boratko, Naim, Lee, On the Theoretical Limitations of Embedding-Based Retrieval, ICLR 2026, "
       "arXiv:2508.21038",
       "For single-vector retrieval of dimension d some top-k sets are unreachable; free embeddings optimised on the "
       "test qrels (k = 2) stop at a critical n that grows only cubically in d, and on LIMIT, where every pair of "
       "documents is some query's answer, BM25 is near perfect while single-vector embedders fail.",
       "quick: about 2 minutes on 2 CPU cores; full: d up to 24 with the record and free embeddings on 50k documents (about 45 minutes)",
       run_limit},
      {"llm2vec", "LLM2Vec: large language models are secretly powerful text encoders",
       "BehnamGhader, Adlakha, Mosbach, Bahdanau, Chapados, Reddy, LLM2Vec: Large Language Models Are Secretly Powerful "
       "Text Encoders, COLM 2024, arXiv:2404.05961",
       "A decoder-only LM becomes a strong text encoder without labelled data by three steps: bidirectional attention, "
       "masked next-token prediction to adapt to it, and unsupervised SimCSE; bidirectional attention alone hurts, "
       "each step helps, and mean pooling beats last-token pooling.",
       "quick: about 5 minutes on 2 CPU cores (plus about 4 for the base LM when not cached); full: 1000 steps per stage",
       run_llm2vec},
      {"matryoshka", "Matryoshka representation learning",
       "Kusupati, Bhatt, Rege, Wallingford, Sinha, Ramanujan, Howard-Snyder, Chen, Kakade, Jain, Farhadi, Matryoshka "
       "Representation Learning, NeurIPS 2022, arXiv:2205.13147",
       "Training on the loss of O(log d) nested prefixes makes every prefix of one embedding as good as a representation "
       "trained at that width, so one vector serves many budgets: adaptive classification and shortlist-then-rerank "
       "retrieval at a fraction of the cost.",
       "quick: about 11 minutes on 2 CPU cores, E1 5.5 and E2 5 (plus about 4 for the base LM when not cached); "
       "full: all noun synsets, 4000 classification and 1000 contrastive steps",
       run_matryoshka},
      {"nv-embed", "NV-Embed: improved techniques for training LLMs as generalist embedding models",
       "Lee, Roy, Xu, Raiman, Shoeybi, Catanzaro, Ping, NV-Embed: Improved Techniques for Training LLMs as Generalist "
       "Embedding Models, ICLR 2025, arXiv:2405.17428",
       "A decoder-only LM becomes a strong generalist embedder when its causal mask is dropped, its tokens are pooled "
       "through a latent-attention layer, and it is trained in two stages (retrieval with in-batch and hard negatives, "
       "then a blend of tasks without in-batch negatives) on hard negatives mined with a positive-aware margin.",
       "quick: about 10.5 minutes on 2 CPU cores, E1 6.3, E2 1.6, E3 2.3 (plus about 4 for the base LM when not "
       "cached); full: 1000 steps per stage",
       run_nv_embed},
      {"succinct-transformers", "Transformers are inherently succinct",
       "Bergstraesser, Cotterell, Lin, Transformers are Inherently Succinct, ICLR 2026, arXiv:2510.19315",
       "Measured by description size, unique-hard-attention transformers are exponentially more succinct than LTL "
       "formulas and fixed-precision RNNs, and doubly exponentially more succinct than finite automata; the price is "
       "that their emptiness and equivalence are EXPSPACE-complete.",
       "quick: about 3-4 minutes on 2 CPU cores; full: 10x larger agreement sets, estimated 20-30 minutes",
       run_succinct_transformers},
  };
  return reproductions;
}

const Reproduction* find_reproduction(const std::string& slug) {
  for (const auto& r : registry())
    if (r.slug == slug) return &r;
  return nullptr;
}

std::vector<PaperStatus> paper_list() {
  const std::vector<std::pair<std::string, std::string>> papers = {
      {"ance", "retrieval training"}, {"nv-embed", "embeddings"}, {"matryoshka", "embeddings"},
      {"gritlm", "embeddings + LM"}, {"hyde", "retrieval"}, {"llm2vec", "embeddings"},
      {"llm2vec-gen", "embeddings"}, {"dsi", "generative retrieval"}, {"limit", "retrieval theory"},
      {"llm-wiki", "knowledge systems"}, {"gated-attention", "architecture"}, {"rlvr-passk", "RL / evaluation"},
      {"roll-the-dice", "training objectives"}, {"shallow-alignment", "alignment"}, {"resist-alignment", "alignment"},
      {"lost-in-conversation", "evaluation"}, {"model-collapse", "training dynamics"},
      {"succinct-transformers", "theory"}, {"agent-design", "agent systems"}};
  std::vector<PaperStatus> list;
  for (const auto& [slug, area] : papers) list.push_back({slug, area, find_reproduction(slug) != nullptr});
  return list;
}

Result run_reproduction(const Reproduction& reproduction, const Context& ctx) {
  if (ctx.scale != "quick" && ctx.scale != "full") usage_error("--scale must be quick or full, got '" + ctx.scale + "'");
  std::filesystem::create_directories(ctx.out);
  const auto started = std::chrono::steady_clock::now();
  Result result = reproduction.run(ctx);
  result.slug = reproduction.slug;
  result.title = reproduction.title;
  result.claim = reproduction.claim;
  result.scale = ctx.scale;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  decide_verdict(result);
  for (const auto& plot : result.plots) {
    auto written = render_plot(plot, ctx.out);
    if (!written.empty()) result.rendered_plots.push_back(written);
  }
  write_result_files(result, ctx.out);
  return result;
}

}  // namespace garden::repro
