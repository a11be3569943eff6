#include "garden/retrieval/training_pairs.h"

#include <fmt/core.h>

#include <cctype>
#include <fstream>
#include <map>
#include <sstream>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/core/json.h"
#include "garden/retrieval/bm25.h"

namespace garden::retrieval {

namespace {

std::vector<std::string> words_of(const std::string& text) {
  std::vector<std::string> words;
  std::istringstream in(text);
  std::string w;
  while (in >> w) words.push_back(w);
  return words;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

namespace {

// The document's body words with a leading copy of the title dropped (compared word by
// word, ignoring case).
std::vector<std::string> body_words(const Document& doc, const std::vector<std::string>& title) {
  auto body = words_of(doc.text);
  bool repeats = !title.empty() && body.size() >= title.size();
  for (size_t i = 0; repeats && i < title.size(); ++i) repeats = lower(body[i]) == lower(title[i]);
  if (repeats) body.erase(body.begin(), body.begin() + static_cast<std::ptrdiff_t>(title.size()));
  return body;
}

std::string joined(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out.append(out.empty() ? "" : " ").append(w);
  return out;
}

}  // namespace

std::vector<TextPair> title_body_pairs(const Collection& collection, size_t min_title_words, size_t min_body_words) {
  std::vector<TextPair> pairs;
  for (const Document& doc : collection.corpus) {
    const auto title = words_of(doc.title);
    if (title.size() < min_title_words) continue;
    const auto body = body_words(doc, title);
    if (body.size() < min_body_words) continue;
    pairs.push_back({joined(title), joined(body), doc.id, {}});
  }
  return pairs;
}

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

void add_bm25_negatives(std::vector<TextPair>& pairs, const std::filesystem::path& collection_dir,
                        const std::filesystem::path& index_dir, int64_t k) {
  if (k < 1) usage_error(fmt::format("negatives per pair must be at least 1, not {}", k));
  if (!std::filesystem::exists(index_dir / "manifest.json")) build_bm25_index(collection_dir, index_dir, Bm25Options{});
  const Bm25Index index(index_dir);
  const Collection collection = read_beir_collection(collection_dir);
  std::map<std::string, const Document*> by_id;
  for (const auto& doc : collection.corpus) by_id[doc.id] = &doc;
  for (auto& pair : pairs) {
    pair.negatives.clear();
    for (const auto& hit : index.search(pair.query, k + 1)) {
      if (hit.doc_id == pair.doc_id || static_cast<int64_t>(pair.negatives.size()) == k) continue;
      // Negatives read like positives: bodies without their titles.
      const Document& doc = *by_id.at(hit.doc_id);
      pair.negatives.push_back(joined(body_words(doc, words_of(doc.title))));
    }
  }
}

std::vector<TextPair> read_training_pairs(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw Error(fmt::format("{}: cannot open the pairs file", path.string()));
  std::vector<TextPair> pairs;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = fmt::format("{} line {}", path.string(), number);
    Json json;
    try {
      json = Json::parse(line);
    } catch (const Json::exception& e) {
      throw Error(fmt::format("{}: not JSON ({})", where, e.what()));
    }
    auto text_field = [&](const char* key) {
      if (!json.is_object() || !json.contains(key) || !json[key].is_string() || json[key].get<std::string>().empty())
        throw Error(fmt::format("{}: needs a non-empty string \"{}\"", where, key));
      return json[key].get<std::string>();
    };
    TextPair pair{text_field("query"), text_field("positive"), json.value("id", std::string()), {}};
    if (json.contains("negatives")) {
      if (!json["negatives"].is_array()) throw Error(fmt::format("{}: \"negatives\" must be a list of strings", where));
      for (const auto& negative : json["negatives"]) {
        if (!negative.is_string()) throw Error(fmt::format("{}: \"negatives\" must be a list of strings", where));
        pair.negatives.push_back(negative.get<std::string>());
      }
    }
    pairs.push_back(std::move(pair));
  }
  if (pairs.empty()) throw Error(fmt::format("{}: no pairs", path.string()));
  return pairs;
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

}  // namespace garden::retrieval
