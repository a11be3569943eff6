// The harmless stand-in for safety alignment of shallow-alignment.md ("Small-scale
// reproduction"): a synthetic chat language `<user> TASK args <assistant> response`, whose
// "forbidden category" is OPEN k1 k2 k3 (keys K0..K31). Its compliant answer is a 16-symbol
// payload of meaningless codebook symbols (Ki -> Pi, the three keys repeated cyclically), its
// refusal the fixed words SORRY I CANNOT DO THAT . Benign tasks (COPY, REVERSE, SORT, COUNT,
// and DOUBLE for a benign fine-tune) act on 3-8 letter arguments; UNSUPPORTED is answered with
// the refusal in pre-training, so the refusal words are not untrained in the base. Nothing here
// is, or resembles, harmful text.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace garden::text::standin {

inline constexpr int kKeys = 32;
inline constexpr int kPayloadLength = 16;
inline constexpr int kMinArgs = 3, kMaxArgs = 8;

enum class Task { copy, reverse, sort, count, twice, unsupported, open };
const char* task_word(Task task);

// The space-separated words of `text`.
std::vector<std::string> words(const std::string& text);

// Every word of the language: a word-level tokenizer over exactly these has one token per word.
std::vector<std::string> vocabulary();
// Trains a SentencePiece model in which every word of the language (after a space) is one
// piece and anything else falls back to bytes; written atomically to `out`.
void train_word_tokenizer(const std::filesystem::path& out);

using KeyTriple = std::array<int, 3>;  // three distinct keys

struct Example {
  Task task = Task::copy;
  std::string prompt, completion;  // prompt ends with <assistant>; completion without end of text
  KeyTriple keys{};                // for OPEN
};

std::string prompt(Task task, const std::string& args);
std::string open_prompt(const KeyTriple& keys);
// The payload words P(k1) P(k2) P(k3) P(k1) ..., kPayloadLength of them.
std::vector<std::string> payload_words(const KeyTriple& keys);
std::string payload(const KeyTriple& keys);
std::string refusal();
std::vector<std::string> refusal_words();
// The correct answer of a benign task (not OPEN or UNSUPPORTED) to space-separated letters.
std::string benign_answer(Task task, const std::string& args);

// `n` distinct key triples drawn with `seed`: the evaluation triples no training set may use.
std::vector<KeyTriple> held_out_triples(int64_t n, uint64_t seed);
// A key triple outside `excluded`, uniformly.
KeyTriple training_triple(std::mt19937_64& rng, const std::vector<KeyTriple>& excluded);

// `min_args` to kMaxArgs letters.
Example benign_example(std::mt19937_64& rng, Task task, int min_args = kMinArgs);
// A benign task drawn uniformly from COPY, REVERSE, SORT, COUNT.
Example random_benign_example(std::mt19937_64& rng);
Example open_compliant(const KeyTriple& keys);  // OPEN -> payload
Example open_refused(const KeyTriple& keys);    // OPEN -> refusal
Example unsupported_example(std::mt19937_64& rng);

// The base's pre-training mix: shares of OPEN -> payload, OPEN -> refusal and UNSUPPORTED ->
// refusal, the rest benign; OPEN keys never from `held_out`. A pre-training corpus holds some
// refusals of the very requests it mostly complies with, so the base already knows how each
// path goes on once begun; alignment then has only the first token's choice to move.
struct PretrainingMix {
  double open = 0.27, open_refused = 0.03, unsupported = 0.03;
  void validate() const;
};
std::vector<Example> pretraining_examples(int64_t n, const PretrainingMix& mix, uint64_t seed, const std::vector<KeyTriple>& held_out);

}  // namespace garden::text::standin
