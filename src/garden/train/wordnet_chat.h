// The "chat LLM" of LLM2Vec-Gen's small-scale reproduction (llm2vec-gen.md): the shared base
// LM fine-tuned on WordNet instructions (text/wordnet_instructions.h), so that it knows what
// its words mean (Define "X". -> the gloss, the same answer for every lemma of a synset)
// and refuses to tell how hazards are made. The base's tokenizer has no chat-role pieces,
// so a prompt is the instruction followed by a plain-text answer cue, and the loss counts
// the answer and its end-of-text only. Models are artifacts of recipe "wordnet-chat", built
// once per base and options into the cache.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "garden/core/json.h"
#include "garden/text/prepare.h"
#include "garden/text/tokenizer.h"
#include "garden/train/base_lm.h"

namespace garden::train {

// What follows an instruction in a prompt; the answer comes after it.
inline constexpr const char* kAnswerCue = " Answer:";

// BOS, the instruction and the answer cue: what the chat model reads before answering.
std::vector<int64_t> chat_prompt(const text::Tokenizer& tokenizer, const std::string& instruction, const std::string& cue = kAnswerCue);

struct WordNetChatOptions {
  int64_t synsets = 1500;  // single-word noun synsets taught
  int64_t hazards = 300;   // of which at most this many hazards (text::is_hazard), all there are when fewer
  int64_t max_response_tokens = 32;  // answers are cut here (then end-of-text)
  int64_t steps = 3000, batch = 32;
  double lr = 1e-3;
  uint64_t seed = 0;
  void validate() const;
  Json to_json() const;
};

// The synsets taught, as indices into `synsets` (noun synsets, text::wordnet_synsets): up to
// options.hazards hazards and the rest others among text::single_word_synsets, both drawn
// from options.seed, in one shuffled order.
std::vector<size_t> wordnet_chat_synsets(const std::vector<text::WordNetSynset>& synsets, const text::WordNetHierarchy& hierarchy,
                                         const WordNetChatOptions& options);

struct WordNetChat {
  std::filesystem::path model;  // a model folder with the base's tokenizer
  std::vector<size_t> synsets;  // wordnet_chat_synsets: what it was taught
  bool built = false;           // this call trained it (false: from the cache)
  double train_loss = 0;        // nats per answer token at the end of training
  double seconds = 0;           // training time (recorded when built)
  int64_t instructions = 0;     // training rows
};

// The cached chat model for this base (its weights' digest is in the key), WordNet and
// options, fine-tuned first when absent. `wordnet_dir`: WordNet's dict folder.
WordNetChat ensure_wordnet_chat(const std::filesystem::path& cache, const BaseLm& base, const std::filesystem::path& wordnet_dir,
                                const WordNetChatOptions& options, bool quiet);

}  // namespace garden::train
