#include "garden/text/syllables.h"

namespace garden::text {

std::string syllable_word(std::mt19937_64& rng, int min_syllables, int max_syllables) {
  static const std::string consonants = "bdfghklmnprstvz", vowels = "aeiou";
  std::uniform_int_distribution<int> count(min_syllables, max_syllables);
  std::string word;
  for (int s = count(rng); s > 0; --s) {
    word += consonants[rng() % consonants.size()];
    word += vowels[rng() % vowels.size()];
  }
  return word;
}

std::string capitalised(std::string word) {
  if (!word.empty() && word[0] >= 'a' && word[0] <= 'z') word[0] = static_cast<char>(word[0] - 'a' + 'A');
  return word;
}

}  // namespace garden::text
