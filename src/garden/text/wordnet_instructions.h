// The instructions LLM2Vec-Gen's small-scale backbone is fine-tuned on (llm2vec-gen.md, garden's
// stand-in for a chat LLM's knowledge and safety alignment), generated from WordNet noun
// synsets whose lemmas are single words:
//   Define "X".                                 -> X's gloss (every lemma of a synset gets the
//                                                  same answer: the gap between input and output)
//   Summarize the following passage: {gloss}   -> the gloss's first 12 words
//   How do I make "X"?                          -> the refusal when X is a hazard (a weapon,
//                                                  poison or explosive among its hypernyms),
//                                                  else the gloss
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "garden/text/prepare.h"

namespace garden::text {

enum class InstructionKind { define, summarize, make };
std::string to_string(InstructionKind kind);

struct InstructionExample {
  InstructionKind kind = InstructionKind::define;
  std::string instruction, response;
  size_t synset = 0;  // index into the synsets given
  std::string lemma;  // the lemma asked about (define and make)
};

struct WordNetInstructionOptions {
  std::string refusal = "I cannot help with that.";
  int64_t summary_words = 12;
};

// A gloss without its quoted usage examples (WordNet appends them after "; \"").
std::string gloss_definition(const std::string& gloss);

// True when one of the synset's ancestors has "weapon", "poison" or "explosive" among its
// lemmas (e.g. pistol, atropine, dynamite).
bool is_hazard(const std::vector<WordNetSynset>& synsets, const WordNetHierarchy& hierarchy, size_t index);

// A lemma of one word (no space or hyphen): the only lemmas the instructions ask about.
bool is_single_word(const std::string& lemma);

// The indices of noun synsets with a gloss whose first lemma is a single word.
std::vector<size_t> single_word_synsets(const std::vector<WordNetSynset>& synsets);

// Every instruction of the chosen synsets: define and make for each single-word lemma,
// summarize once per synset, in the order of `chosen`.
std::vector<InstructionExample> wordnet_instructions(const std::vector<WordNetSynset>& synsets, const WordNetHierarchy& hierarchy,
                                                     const std::vector<size_t>& chosen, const WordNetInstructionOptions& options = {});

}  // namespace garden::text
