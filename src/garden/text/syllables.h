// Made-up words for generated collections (LIMIT's people, DSI's synthetic entities): seeded
// consonant-vowel syllables, so a generated corpus needs no word list and no test collection
// shares its vocabulary.
#pragma once

#include <random>
#include <string>

namespace garden::text {

// min..max syllables, each a consonant of "bdfghklmnprstvz" then a vowel, e.g. "tomaki".
std::string syllable_word(std::mt19937_64& rng, int min_syllables, int max_syllables);
// The first letter upper-cased (ASCII words only, as syllable_word makes).
std::string capitalised(std::string word);

}  // namespace garden::text
