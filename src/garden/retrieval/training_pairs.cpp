#include "garden/retrieval/training_pairs.h"

#include <cctype>
#include <sstream>

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

std::vector<TextPair> title_body_pairs(const Collection& collection, size_t min_title_words, size_t min_body_words) {
  std::vector<TextPair> pairs;
  for (const Document& doc : collection.corpus) {
    const auto title = words_of(doc.title);
    if (title.size() < min_title_words) continue;
    auto body = words_of(doc.text);
    // Drop a leading copy of the title (compared word by word, ignoring case).
    bool repeats = body.size() >= title.size();
    for (size_t i = 0; repeats && i < title.size(); ++i) repeats = lower(body[i]) == lower(title[i]);
    if (repeats) body.erase(body.begin(), body.begin() + static_cast<std::ptrdiff_t>(title.size()));
    if (body.size() < min_body_words) continue;
    std::string query, positive;
    for (const auto& w : title) query.append(query.empty() ? "" : " ").append(w);
    for (const auto& w : body) positive.append(positive.empty() ? "" : " ").append(w);
    pairs.push_back({query, positive, doc.id});
  }
  return pairs;
}

}  // namespace garden::retrieval
