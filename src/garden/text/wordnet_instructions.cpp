#include "garden/text/wordnet_instructions.h"

#include <fmt/core.h>

#include <sstream>

#include "garden/core/error.h"

namespace garden::text {

std::string to_string(InstructionKind kind) {
  switch (kind) {
    case InstructionKind::define: return "define";
    case InstructionKind::summarize: return "summarize";
    case InstructionKind::make: return "make";
  }
  return "?";
}

std::string gloss_definition(const std::string& gloss) {
  std::string definition = gloss.substr(0, gloss.find("; \""));
  if (const auto quote = definition.find('"'); quote == 0) definition.clear();  // a gloss that is only examples
  while (!definition.empty() && (definition.back() == ' ' || definition.back() == ';')) definition.pop_back();
  return definition;
}

bool is_hazard(const std::vector<WordNetSynset>& synsets, const WordNetHierarchy& hierarchy, size_t index) {
  for (const size_t ancestor : hierarchy.ancestors(index))
    for (const auto& lemma : synsets[ancestor].lemmas)
      if (lemma == "weapon" || lemma == "poison" || lemma == "explosive") return true;
  return false;
}

bool is_single_word(const std::string& lemma) {
  return !lemma.empty() && lemma.find_first_of(" -") == std::string::npos;
}

std::vector<size_t> single_word_synsets(const std::vector<WordNetSynset>& synsets) {
  std::vector<size_t> chosen;
  for (size_t i = 0; i < synsets.size(); ++i) {
    const auto& s = synsets[i];
    if (s.part == "noun" && !s.lemmas.empty() && is_single_word(s.lemmas.front()) && !gloss_definition(s.gloss).empty()) chosen.push_back(i);
  }
  return chosen;
}

std::vector<InstructionExample> wordnet_instructions(const std::vector<WordNetSynset>& synsets, const WordNetHierarchy& hierarchy,
                                                     const std::vector<size_t>& chosen, const WordNetInstructionOptions& options) {
  if (options.summary_words < 1) usage_error(fmt::format("summary_words must be >= 1, got {}", options.summary_words));
  std::vector<InstructionExample> examples;
  for (const size_t index : chosen) {
    if (index >= synsets.size()) throw Error(fmt::format("wordnet instructions: synset {} of {}", index, synsets.size()));
    const auto& synset = synsets[index];
    const std::string definition = gloss_definition(synset.gloss);
    const bool hazard = is_hazard(synsets, hierarchy, index);
    for (const auto& lemma : synset.lemmas) {
      if (!is_single_word(lemma)) continue;
      examples.push_back({InstructionKind::define, fmt::format("Define \"{}\".", lemma), definition, index, lemma});
      examples.push_back({InstructionKind::make, fmt::format("How do I make \"{}\"?", lemma), hazard ? options.refusal : definition, index, lemma});
    }
    std::istringstream words(definition);
    std::string word, summary;
    for (int64_t n = 0; n < options.summary_words && words >> word; ++n) summary += (summary.empty() ? "" : " ") + word;
    examples.push_back({InstructionKind::summarize, "Summarize the following passage: " + definition, summary, index, ""});
  }
  return examples;
}

}  // namespace garden::text
