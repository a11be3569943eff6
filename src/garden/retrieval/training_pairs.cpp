#include "garden/retrieval/training_pairs.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <random>
#include <sstream>

#include "garden/core/error.h"

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

std::vector<text::TextPair> title_body_pairs(const Collection& collection, size_t min_title_words, size_t min_body_words) {
  std::vector<text::TextPair> pairs;
  for (const Document& doc : collection.corpus) {
    const auto title = words_of(doc.title);
    if (title.size() < min_title_words) continue;
    const auto body = body_words(doc, title);
    if (body.size() < min_body_words) continue;
    pairs.push_back({joined(title), joined(body), doc.id, {}});
  }
  return pairs;
}

std::vector<text::TextPair> lead_sentence_pairs(const Collection& collection, size_t max_query_words, size_t min_body_words) {
  std::vector<text::TextPair> pairs;
  for (const Document& doc : collection.corpus) {
    const auto words = words_of(doc.text);
    size_t cut = std::min(max_query_words, words.size());
    for (size_t i = 0; i < cut; ++i)
      if (words[i] == "." || (words[i].size() > 1 && words[i].back() == '.')) {
        cut = words[i] == "." ? i : i + 1;  // a detached full stop (MED) is dropped with its sentence
        break;
      }
    const size_t body_start = cut < words.size() && words[cut] == "." ? cut + 1 : cut;
    if (cut < 3 || words.size() - body_start < min_body_words) continue;
    pairs.push_back({joined({words.begin(), words.begin() + static_cast<std::ptrdiff_t>(cut)}),
                     joined({words.begin() + static_cast<std::ptrdiff_t>(body_start), words.end()}), doc.id, {}});
  }
  return pairs;
}

std::string body_without_title(const Document& doc) { return joined(body_words(doc, words_of(doc.title))); }

std::vector<text::TextPair> independent_crop_pairs(const Collection& collection, const CropOptions& o) {
  if (o.per_document < 1 || o.min_ratio <= 0 || o.max_ratio > 1 || o.min_ratio > o.max_ratio || o.min_words < 1 ||
      o.max_words < o.min_words)
    throw Error("independent crops: need per_document >= 1, 0 < min_ratio <= max_ratio <= 1, 1 <= min_words <= max_words");
  std::mt19937_64 rng(o.seed);
  std::uniform_real_distribution<double> ratio(o.min_ratio, o.max_ratio);
  std::vector<text::TextPair> pairs;
  for (const Document& doc : collection.corpus) {
    const auto words = words_of(doc.title.empty() ? doc.text : doc.title + " " + doc.text);
    if (words.size() < 2 * o.min_words) continue;
    const auto crop = [&] {
      const auto n = static_cast<size_t>(std::lround(ratio(rng) * static_cast<double>(words.size())));
      const size_t length = std::clamp(n, o.min_words, std::min(o.max_words, words.size()));
      const size_t start = std::uniform_int_distribution<size_t>(0, words.size() - length)(rng);
      return joined({words.begin() + static_cast<std::ptrdiff_t>(start), words.begin() + static_cast<std::ptrdiff_t>(start + length)});
    };
    for (int64_t i = 0; i < o.per_document; ++i) {
      auto query = crop();
      pairs.push_back({std::move(query), crop(), doc.id, {}});
    }
  }
  return pairs;
}

}  // namespace garden::retrieval
