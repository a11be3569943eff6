#include "garden/train/safety_augmentation.h"

#include <fmt/core.h>

#include <random>

#include "garden/core/error.h"
#include "garden/core/json.h"

namespace garden::train {

void SafetyAugmentation::validate() const {
  if (!(probability >= 0 && probability <= 1))
    usage_error(fmt::format("safety augmentation: probability {} outside [0, 1]", probability));
  if (max_prefix < 1) usage_error(fmt::format("safety augmentation: max prefix {} must be >= 1", max_prefix));
}

AugmentedRows safety_augmentation_rows(const text::Tokenizer& tokenizer, const std::vector<SafetyTriple>& triples,
                                       const SafetyAugmentation& options, uint64_t seed) {
  options.validate();
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0, 1);
  AugmentedRows out;
  for (const auto& t : triples) {
    TokenRow row;
    const auto append = [&row](const std::vector<int64_t>& tokens, bool counted) {
      row.tokens.insert(row.tokens.end(), tokens.begin(), tokens.end());
      row.counted.insert(row.counted.end(), tokens.size(), counted ? 1 : 0);
    };
    append({tokenizer.bos_id()}, false);
    append(tokenizer.encode(t.prompt), false);
    const auto harmful = tokenizer.encode(t.harmful);
    int64_t k = 0;
    // The coin is drawn for every triple, so which rows are augmented does not depend on the
    // responses' lengths.
    const bool augmented = unit(rng) < options.probability;
    if (augmented && !harmful.empty()) {
      const int64_t most = std::min<int64_t>(options.max_prefix, static_cast<int64_t>(harmful.size()));
      k = std::uniform_int_distribution<int64_t>(1, most)(rng);
      append(std::vector<int64_t>(harmful.begin(), harmful.begin() + k), false);
    }
    auto refusal = tokenizer.encode(t.refusal);
    if (refusal.empty()) throw Error(fmt::format("safety augmentation: empty refusal for prompt '{}'", t.prompt));
    refusal.push_back(tokenizer.eos_id());
    append(refusal, true);
    out.rows.push_back(std::move(row));
    out.prefix_tokens.push_back(k);
  }
  return out;
}

std::vector<SafetyTriple> read_safety_triples(const std::filesystem::path& file) {
  std::vector<SafetyTriple> out;
  for_each_jsonl_object(file, [&](const Json& object, int64_t line) {
    SafetyTriple t;
    for (auto [key, field] : {std::pair{"prompt", &t.prompt}, std::pair{"harmful", &t.harmful}, std::pair{"refusal", &t.refusal}}) {
      const auto it = object.find(key);
      if (it == object.end() || !it->is_string())
        throw Error(fmt::format("{}:{}: needs string fields 'prompt', 'harmful' and 'refusal'", file.string(), line));
      *field = it->get<std::string>();
    }
    out.push_back(std::move(t));
  });
  if (out.empty()) throw Error(fmt::format("{}: no safety triples", file.string()));
  return out;
}

}  // namespace garden::train
