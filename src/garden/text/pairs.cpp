#include "garden/text/pairs.h"

#include <fmt/core.h>

#include <map>
#include <random>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/core/json.h"

namespace garden::text {

std::vector<TextPair> wordnet_definition_pairs(const std::vector<text::WordNetSynset>& synsets) {
  std::vector<TextPair> pairs;
  for (const auto& synset : synsets) {
    if (synset.gloss.empty() || synset.lemmas.empty()) continue;
    std::string lemmas;
    for (const auto& lemma : synset.lemmas) lemmas.append(lemmas.empty() ? "" : ", ").append(lemma);
    pairs.push_back({synset.gloss, lemmas, {}, {}});
  }
  return pairs;
}

StsTriples sts_pairs(const std::vector<std::pair<std::string, std::string>>& texts, const std::vector<double>& scores, double min_score) {
  if (texts.size() != scores.size()) throw Error(fmt::format("STS triples: {} pairs but {} scores", texts.size(), scores.size()));
  StsTriples out;
  std::map<std::string, size_t> id_of;
  auto id = [&](const std::string& sentence) {
    const auto [it, fresh] = id_of.emplace(sentence, out.sentences.size());
    if (fresh) out.sentences.push_back(sentence);
    return std::to_string(it->second);
  };
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto& [a, b] = texts[i];
    const std::string ia = id(a), ib = id(b);
    if (scores[i] < min_score || a == b) continue;
    out.pairs.push_back({a, b, ib, {}});
    out.pairs.push_back({b, a, ia, {}});
  }
  return out;
}

std::vector<TextPair> example_pairs(const std::vector<std::string>& texts, const std::vector<int64_t>& labels, int64_t negatives,
                                    uint64_t seed) {
  if (texts.size() != labels.size()) throw Error(fmt::format("example pairs: {} texts but {} labels", texts.size(), labels.size()));
  std::map<int64_t, std::vector<size_t>> by_class;
  for (size_t i = 0; i < labels.size(); ++i) by_class[labels[i]].push_back(i);
  if (negatives > 0 && by_class.size() < 2) throw Error("example pairs: negatives need at least two classes");
  std::mt19937_64 rng(seed);
  std::vector<TextPair> pairs;
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto& same = by_class.at(labels[i]);
    if (same.size() < 2) continue;
    size_t positive = same[rng() % (same.size() - 1)];
    if (positive == i) positive = same.back();  // draws among the class without i itself
    TextPair pair{texts[i], texts[positive], {}, {}};
    while (static_cast<int64_t>(pair.negatives.size()) < negatives) {
      const size_t j = rng() % texts.size();
      if (labels[j] != labels[i]) pair.negatives.push_back(texts[j]);
    }
    pairs.push_back(std::move(pair));
  }
  return pairs;
}

std::vector<TextPair> read_training_pairs(const std::filesystem::path& path) {
  std::vector<TextPair> pairs;
  for_each_jsonl_object(path, [&](const Json& json, int64_t number) {
    const std::string where = fmt::format("{}:{}", path.string(), number);
    auto text_field = [&](const char* key) {
      if (!json.contains(key) || !json[key].is_string() || json[key].get<std::string>().empty())
        throw Error(fmt::format("{}: needs a non-empty string \"{}\"", where, key));
      return json[key].get<std::string>();
    };
    if (json.contains("id") && !json["id"].is_string() && !json["id"].is_null())
      throw Error(fmt::format("{}: \"id\" must be a string", where));
    TextPair pair{text_field("query"), text_field("positive"), json.contains("id") && json["id"].is_string() ? json["id"].get<std::string>() : "", {}};
    if (json.contains("negatives")) {
      if (!json["negatives"].is_array()) throw Error(fmt::format("{}: \"negatives\" must be a list of strings", where));
      for (const auto& negative : json["negatives"]) {
        if (!negative.is_string()) throw Error(fmt::format("{}: \"negatives\" must be a list of strings", where));
        pair.negatives.push_back(negative.get<std::string>());
      }
    }
    pairs.push_back(std::move(pair));
  });
  if (pairs.empty()) throw Error(fmt::format("{}: no pairs", path.string()));
  return pairs;
}

std::vector<LabelledText> read_labelled_texts(const std::filesystem::path& path) {
  std::vector<LabelledText> out;
  for_each_jsonl_object(path, [&](const Json& json, int64_t number) {
    const std::string where = fmt::format("{}:{}", path.string(), number);
    if (!json.contains("text") || !json["text"].is_string() || json["text"].get<std::string>().empty())
      throw Error(fmt::format("{}: needs a non-empty string \"text\"", where));
    if (!json.contains("label") || !(json["label"].is_string() || json["label"].is_number_integer()))
      throw Error(fmt::format("{}: needs a \"label\" (a string or an integer)", where));
    const auto& label = json["label"];
    out.push_back({json["text"].get<std::string>(), label.is_string() ? label.get<std::string>() : std::to_string(label.get<int64_t>())});
  });
  if (out.empty()) throw Error(fmt::format("{}: no labelled texts", path.string()));
  return out;
}

void write_training_pairs(const std::filesystem::path& path, const std::vector<TextPair>& pairs) {
  std::string out;
  for (const auto& pair : pairs) {
    Json line{{"query", pair.query}, {"positive", pair.positive}};
    if (!pair.doc_id.empty()) line["id"] = pair.doc_id;
    if (!pair.negatives.empty()) line["negatives"] = pair.negatives;
    out.append(line.dump()).append("\n");
  }
  write_file_atomic(path, out);
}

}  // namespace garden::text
