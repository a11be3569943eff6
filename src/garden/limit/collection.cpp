#include "garden/limit/collection.h"

#include <fmt/core.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "garden/core/error.h"
#include "garden/retrieval/bm25.h"
#include "garden/text/syllables.h"

namespace garden::limit {

QrelPattern parse_qrel_pattern(const std::string& name) {
  if (name == "dense") return QrelPattern::dense;
  if (name == "random") return QrelPattern::random;
  if (name == "cycle") return QrelPattern::cycle;
  if (name == "disjoint") return QrelPattern::disjoint;
  usage_error(fmt::format("--pattern must be dense, random, cycle or disjoint, not '{}'", name));
}

std::string to_string(QrelPattern pattern) {
  switch (pattern) {
    case QrelPattern::dense: return "dense";
    case QrelPattern::random: return "random";
    case QrelPattern::cycle: return "cycle";
    case QrelPattern::disjoint: return "disjoint";
  }
  return "?";
}

int64_t relevant_docs_needed(QrelPattern pattern, int64_t queries) {
  switch (pattern) {
    case QrelPattern::dense: {
      int64_t n = 2;
      while (n * (n - 1) / 2 < queries) ++n;
      return n;
    }
    case QrelPattern::random:
    case QrelPattern::cycle: return std::max<int64_t>(queries, 3);
    case QrelPattern::disjoint: return 2 * queries;
  }
  return 0;
}

std::vector<std::pair<int64_t, int64_t>> qrel_pairs(QrelPattern pattern, int64_t queries, uint64_t seed) {
  const int64_t n = relevant_docs_needed(pattern, queries);
  std::vector<std::pair<int64_t, int64_t>> pairs;
  switch (pattern) {
    case QrelPattern::dense:  // the first `queries` pairs in lexicographic order
      for (int64_t a = 0; a < n && static_cast<int64_t>(pairs.size()) < queries; ++a)
        for (int64_t b = a + 1; b < n && static_cast<int64_t>(pairs.size()) < queries; ++b) pairs.emplace_back(a, b);
      break;
    case QrelPattern::cycle:
      for (int64_t i = 0; i < queries; ++i) pairs.emplace_back(i, (i + 1) % n);
      break;
    case QrelPattern::disjoint:
      for (int64_t i = 0; i < queries; ++i) pairs.emplace_back(2 * i, 2 * i + 1);
      break;
    case QrelPattern::random: {
      std::mt19937_64 rng(seed ^ 0x5eed5eedULL);
      std::uniform_int_distribution<int64_t> pick(0, n - 1);
      std::set<std::pair<int64_t, int64_t>> seen;
      while (static_cast<int64_t>(pairs.size()) < queries) {
        int64_t a = pick(rng), b = pick(rng);
        if (a == b) continue;
        if (a > b) std::swap(a, b);
        if (seen.insert({a, b}).second) pairs.emplace_back(a, b);
      }
      break;
    }
  }
  return pairs;
}

std::vector<std::string> wordnet_single_word_nouns(const std::filesystem::path& wordnet_dir) {
  const auto path = wordnet_dir / "index.noun";
  std::ifstream in(path);
  if (!in) throw Error(fmt::format("cannot read {}: install Debian's wordnet-base (scripts/setup does)", path.string()));
  std::vector<std::string> nouns;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == ' ') continue;  // the licence header is indented
    const std::string lemma = line.substr(0, line.find(' '));
    if (lemma.size() < 4 || lemma.size() > 14) continue;
    if (std::all_of(lemma.begin(), lemma.end(), [](char c) { return c >= 'a' && c <= 'z'; })) nouns.push_back(lemma);
  }
  return nouns;
}

namespace {

using text::capitalised;
using text::syllable_word;

std::string stem_of(const std::string& word) {
  const auto tokens = retrieval::bm25_tokens(word, "english");
  return tokens.size() == 1 ? tokens.front() : std::string();
}

}  // namespace

retrieval::Collection generate_limit_collection(const LimitDataOptions& o) {
  if (o.k != 2) usage_error(fmt::format("--k: the qrel patterns are defined for k = 2, not {}", o.k));
  if (o.queries < 1) usage_error(fmt::format("--queries must be at least 1, not {}", o.queries));
  const int64_t relevant = relevant_docs_needed(o.pattern, o.queries);
  const int64_t docs = o.docs > 0 ? o.docs : relevant;
  if (docs < relevant)
    usage_error(fmt::format("--docs {} is fewer than the {} relevant documents the {} pattern needs for {} queries", docs,
                            relevant, to_string(o.pattern), o.queries));
  std::mt19937_64 rng(o.seed);

  // Attributes: one per distinct English stem (and never a word of the query template).
  std::vector<std::string> attributes;
  {
    std::set<std::string> stems = {"who", "like"};
    for (const std::string& noun : wordnet_single_word_nouns(o.wordnet_dir)) {
      const std::string stem = stem_of(noun);
      if (!stem.empty() && stems.insert(stem).second) attributes.push_back(noun);
    }
  }
  std::shuffle(attributes.begin(), attributes.end(), rng);
  const int64_t spare = static_cast<int64_t>(attributes.size()) - o.queries;
  if (spare < o.attributes_per_doc)
    throw Error(fmt::format("WordNet gives {} usable attributes: too few for {} queries and {} attributes per document",
                            attributes.size(), o.queries, o.attributes_per_doc));
  const std::vector<std::string> query_attributes(attributes.begin(), attributes.begin() + o.queries);
  const std::vector<std::string> other_attributes(attributes.begin() + o.queries, attributes.end());
  std::set<std::string> attribute_stems;
  for (const std::string& a : attributes) attribute_stems.insert(stem_of(a));

  // Names: unique syllable names whose tokens are no attribute's stem.
  std::vector<std::string> names;
  {
    std::set<std::string> used;
    while (static_cast<int64_t>(names.size()) < docs) {
      const std::string first = syllable_word(rng, 2, 3), last = syllable_word(rng, 2, 4);
      if (attribute_stems.count(stem_of(first)) || attribute_stems.count(stem_of(last))) continue;
      const std::string name = capitalised(first) + " " + capitalised(last);
      if (used.insert(name).second) names.push_back(name);
    }
  }

  // Which documents each query attribute goes to.
  const auto pairs = qrel_pairs(o.pattern, o.queries, o.seed);
  std::vector<std::vector<std::string>> liked(static_cast<size_t>(docs));
  retrieval::Collection c;
  c.name = fmt::format("limit-{}-{}q-{}d", to_string(o.pattern), o.queries, docs);
  // Relevant documents take the first slots, then distractors; the order of documents is
  // shuffled below so that position says nothing.
  for (int64_t q = 0; q < o.queries; ++q) {
    const auto [a, b] = pairs[static_cast<size_t>(q)];
    liked[static_cast<size_t>(a)].push_back(query_attributes[static_cast<size_t>(q)]);
    liked[static_cast<size_t>(b)].push_back(query_attributes[static_cast<size_t>(q)]);
  }
  std::uniform_int_distribution<size_t> pick_other(0, other_attributes.size() - 1);
  for (auto& list : liked) {
    std::set<size_t> chosen;
    while (static_cast<int64_t>(list.size()) < o.attributes_per_doc) {
      const size_t at = pick_other(rng);
      if (chosen.insert(at).second) list.push_back(other_attributes[at]);
    }
    std::shuffle(list.begin(), list.end(), rng);
  }
  std::vector<int64_t> order(static_cast<size_t>(docs));
  for (int64_t i = 0; i < docs; ++i) order[static_cast<size_t>(i)] = i;
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<std::string> id_of(static_cast<size_t>(docs));
  for (int64_t i = 0; i < docs; ++i) {
    std::string id = names[static_cast<size_t>(i)];
    std::replace(id.begin(), id.end(), ' ', '_');
    id_of[static_cast<size_t>(i)] = id;
  }
  for (int64_t i : order) {
    const auto& list = liked[static_cast<size_t>(i)];
    std::string text = names[static_cast<size_t>(i)] + " likes ";
    for (size_t a = 0; a < list.size(); ++a) {
      if (a > 0) text += a + 1 == list.size() ? ", and " : ", ";
      text += capitalised(list[a]);
    }
    text += '.';
    c.corpus.push_back({id_of[static_cast<size_t>(i)], "", text});
  }
  for (int64_t q = 0; q < o.queries; ++q) {
    const std::string id = fmt::format("query_{}", q);
    c.queries.push_back({id, fmt::format("Who likes {}?", capitalised(query_attributes[static_cast<size_t>(q)]))});
    const auto [a, b] = pairs[static_cast<size_t>(q)];
    c.qrels[id][id_of[static_cast<size_t>(a)]] = 1;
    c.qrels[id][id_of[static_cast<size_t>(b)]] = 1;
  }
  return c;
}

}  // namespace garden::limit
