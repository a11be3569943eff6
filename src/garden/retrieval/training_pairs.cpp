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

std::vector<text::TextPair> inverse_cloze_pairs(const Collection& collection, const IctOptions& o) {
  if (o.per_document < 1 || o.keep_sentence < 0 || o.keep_sentence > 1 || o.min_query_words < 1 ||
      o.max_query_words < o.min_query_words || o.context_words < o.min_context_words)
    throw Error("inverse cloze: need per_document >= 1, keep_sentence in [0, 1], 1 <= min_query_words <= max_query_words, "
                "min_context_words <= context_words");
  std::mt19937_64 rng(o.seed);
  std::bernoulli_distribution keep(o.keep_sentence);
  std::vector<text::TextPair> pairs;
  for (const Document& doc : collection.corpus) {
    const auto words = words_of(doc.title.empty() ? doc.text : doc.title + " " + doc.text);
    // Sentence spans [begin, end) over the words; a trailing unfinished one counts too.
    std::vector<std::pair<size_t, size_t>> sentences;
    for (size_t begin = 0, i = 0; i < words.size(); ++i) {
      const char last = words[i].back();
      if (last == '.' || last == '?' || last == '!' || i + 1 == words.size()) {
        sentences.emplace_back(begin, i + 1);
        begin = i + 1;
      }
    }
    std::vector<size_t> candidates;
    for (size_t s = 0; s < sentences.size(); ++s) {
      const size_t n = sentences[s].second - sentences[s].first;
      if (n >= o.min_query_words && n <= o.max_query_words && words.size() - n >= o.min_context_words) candidates.push_back(s);
    }
    if (sentences.size() < 2 || candidates.empty()) continue;
    for (int64_t p = 0; p < o.per_document; ++p) {
      const auto [begin, end] = sentences[candidates[std::uniform_int_distribution<size_t>(0, candidates.size() - 1)(rng)]];
      const std::vector<std::string> query(words.begin() + static_cast<std::ptrdiff_t>(begin), words.begin() + static_cast<std::ptrdiff_t>(end));
      const bool keep_query = keep(rng);
      // Words around the sentence: half the budget before it, the rest after, and whatever one
      // side cannot use goes to the other.
      const size_t budget = o.context_words - (keep_query ? std::min(o.context_words, end - begin) : 0);
      const size_t after_available = words.size() - end;
      size_t before = std::min(begin, budget / 2);
      const size_t after = std::min(after_available, budget - before);
      before = std::min(begin, budget - after);
      std::vector<std::string> context(words.begin() + static_cast<std::ptrdiff_t>(begin - before), words.begin() + static_cast<std::ptrdiff_t>(begin));
      if (keep_query) context.insert(context.end(), query.begin(), query.end());
      context.insert(context.end(), words.begin() + static_cast<std::ptrdiff_t>(end), words.begin() + static_cast<std::ptrdiff_t>(end + after));
      if (context.size() < o.min_context_words) continue;
      pairs.push_back({joined(query), joined(context), doc.id, {}});
    }
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
