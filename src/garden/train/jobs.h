// One library entry point per training job (DESIGN.md: the CLI only parses and prints). A job
// merges its settings (the objective's defaults < a config file < the overrides given as
// flags), validates them, reads its data, claims its run folder (train/run_folder.h) and
// trains, checkpointing and stopping on Ctrl-C. Paper methods that are training objectives are
// a field of the job (LLM2Vec's MNTP and SimCSE), not jobs of their own.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

#include "garden/core/json.h"
#include "garden/train/generative_embedding.h"
#include "garden/train/grit_training.h"
#include "garden/train/objectives/constrained_sft.h"
#include "garden/train/rlvr.h"
#include "garden/train/safety_augmentation.h"
#include "garden/train/trainer.h"

namespace garden::train {

// Where a job writes and how far it goes: the run folder, continuing from its latest
// checkpoint, and an early stop with a checkpoint.
struct RunFolderSpec {
  std::string out;
  bool resume = false;
  int64_t stop_after = 0;
};

// What every job is told beside its own settings: a config file, its run folder, where the
// built-in corpus is prepared, the device, and the ranks of a data-parallel run
// (distributed.h: --batch is then each rank's share of a global batch world_size times as
// large; rank 0 alone speaks and writes the run folder).
struct JobSetup {
  std::string config_file;  // optional cfg.json with the job's sections
  RunFolderSpec run;
  std::filesystem::path cache;
  torch::Device device = torch::kCPU;
  DistributedSpec distributed;
};

// ---- language models (garden lm train) ----
// lm: next-token prediction; mntp: LLM2Vec's masked next-token prediction under a
// bidirectional mask (arXiv:2404.05961), which adapts an existing model; constrained-sft: the
// token-wise constrained fine-tuning of arXiv:2406.05946 against a frozen reference
// (objectives/constrained_sft.h), which fine-tunes an existing model on prompt-completion data.
enum class LmObjective { lm, mntp, constrained_sft };
LmObjective parse_lm_objective(const std::string& name);
std::string to_string(LmObjective objective);
// The training defaults of an objective (mntp: the spec's short fine-tuning recipe).
Json lm_train_defaults(LmObjective objective);

struct LmJob {
  LmObjective objective = LmObjective::lm;
  JobSetup setup{"", {"runs/lm", false, 0}, {}, torch::kCPU, {}};  // cfg.json: {"model", "train", "data", "out"}
  Json model_overrides = Json::object();  // TransformerConfig fields given as flags (no vocab)
  Json train_overrides = Json::object();  // TrainConfig fields given as flags
  std::string model;                      // start from this model or run (mntp needs one)
  std::string train_file, valid_file;     // default: the built-in corpus
  std::string tokenizer = "bytes", format = "text", field = "text";
  double mntp_rate = 0.2;                 // mntp: fraction of tokens chosen
  std::string mntp_strategy = "bert", mask_piece = "<mask>";
  std::string reference;                  // constrained-sft: the frozen reference (default: --model)
  BetaSchedule schedule;                  // constrained-sft
  // Prompt-completion training: safety triples mixed into the training rows with the
  // recovery augmentation (train/safety_augmentation.h).
  std::string safety_triples;
  SafetyAugmentation augmentation;
  // Fractions of the run (0 < f <= 1) whose model is also kept as <out>/model-step-N.
  std::vector<double> save_at;
};
// ---- a response data set from a model (garden lm sample) ----
// n seeded completions of every prompt, written as {"prompt", "completion", "sample"} JSONL
// rows (prompt-completion training data as is); returns the rows written.
struct SampleJob {
  std::string model, prompts, out;
  std::string field = "prompt";  // the field read from .jsonl prompt files (text: one prompt a line)
  int64_t n = 1;
  uint64_t seed = 0;
  SamplingOptions sampling{1.0, 1.0, 32, 512};
  torch::Device device = torch::kCPU;
};
int64_t sample_responses(const SampleJob& job);

// The steps of `fractions` of a run of `steps` steps (each at least 1), validated.
std::vector<int64_t> steps_at_fractions(const std::vector<double>& fractions, int64_t steps);
TrainResult train_lm(LmJob job);

// ---- embedding models (garden embed train) ----
// infonce: contrastive pairs (with hard negatives, in stages if asked); simcse: each sentence
// is its own positive under independent dropout (LLM2Vec's step 3); llm2vec-gen: special
// tokens on a frozen LM learn to compress its answers and match a teacher's embedding of them
// (arXiv:2603.10913; data from garden llm2vec-gen prepare).
enum class EmbedObjective { infonce, simcse, llm2vec_gen, grit };
EmbedObjective parse_embed_objective(const std::string& name);
// The objective's training defaults (its contrastive settings are EmbedObjectiveConfig's).
Json embed_train_defaults(EmbedObjective objective);

struct EmbedJob {
  EmbedObjective objective = EmbedObjective::infonce;
  JobSetup setup{"", {"runs/embed", false, 0}, {}, torch::kCPU, {}};  // cfg.json: {"model", "data": {"train", "eval"}, "objective", "train", "out"}
  std::vector<std::string> stage_files;       // infonce in stages: each {"name", "data", "objective", "train"}
  Json objective_overrides = Json::object();  // EmbedObjectiveConfig fields given as flags
  Json train_overrides = Json::object();
  // The embedding model to train (or a run to start from); llm2vec-gen: the frozen language
  // model, or a generative embedder to go on training.
  std::string model;
  // infonce: pairs JSONL; simcse: sentences, one a line (default: built-in corpus);
  // llm2vec-gen: prepared queries (garden llm2vec-gen prepare)
  std::string train_file, eval_file;
  double simcse_dropout = 0.3;                // simcse: dropout of every layer while training
  int64_t simcse_max_tokens = 32;             // simcse: longer sentences are skipped
  GenerativeLossWeights generative_weights;   // llm2vec-gen: lambda_rec, lambda_align
  int64_t special_tokens = 10;                // llm2vec-gen: K (v2: 10, all compression tokens)
  int64_t generative_max_tokens = 128;        // llm2vec-gen: query tokens kept before the special tokens
  std::string generative_cue;                 // llm2vec-gen: text read after each query (GenerativeEmbedderConfig::query_suffix)
  // grit: embedding datasets ("FILE" or "FILE::INSTRUCTION", one per dataset), generative
  // rows and held-out ones, the attention code (empty: bbcc, or the model's own) and pooler.
  std::vector<std::string> grit_pairs;
  std::string grit_generations, grit_held_out_generations, grit_attention, grit_pooling = "mean";
  GritOptions grit;
};
struct EmbedJobResult {
  TrainResult result;
  std::filesystem::path model;  // the trained model: the run folder, or the last stage's
  int64_t stages = 1;
};
EmbedJobResult train_embedder(EmbedJob job);

}  // namespace garden::train
