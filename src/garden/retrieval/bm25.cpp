#include "garden/retrieval/bm25.h"

#include <fmt/core.h>
#include <xapian.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/core/progress.h"
#include "garden/retrieval/manifest.h"

namespace garden::retrieval {

namespace fs = std::filesystem;

namespace {

// Okapi BM25 as a Xapian weighting scheme (see bm25.h for the formula).
class OkapiWeight : public Xapian::Weight {
 public:
  OkapiWeight(double k1, double b) : k1_(k1), b_(b) {
    need_stat(COLLECTION_SIZE);
    need_stat(TERMFREQ);
    need_stat(AVERAGE_LENGTH);
    need_stat(WDF);
    need_stat(DOC_LENGTH);
    need_stat(WQF);
  }
  Xapian::Weight* clone() const override { return new OkapiWeight(k1_, b_); }
  void init(double factor) override {
    const double n = static_cast<double>(get_collection_size()), df = static_cast<double>(get_termfreq());
    // factor scales a subquery's weight (1 for a plain OR); wqf repeats a query token.
    scale_ = factor * static_cast<double>(get_wqf()) * std::log(1.0 + (n - df + 0.5) / (df + 0.5));
    average_length_ = get_average_length() > 0 ? static_cast<double>(get_average_length()) : 1.0;
  }
  double get_sumpart(Xapian::termcount wdf, Xapian::termcount doclen, Xapian::termcount) const override {
    if (wdf == 0) return 0.0;
    const double tf = static_cast<double>(wdf);
    return scale_ * tf * (k1_ + 1) / (tf + k1_ * (1 - b_ + b_ * static_cast<double>(doclen) / average_length_));
  }
  // No useful bound: with the true one, scale * (k1 + 1) (tf / (tf + K) < 1), Xapian's
  // max-weight pruning still dropped documents from the top k (Cranfield query 16 lost its
  // rank-99 document at k = 100 that k = 1400 ranks there; found by garden_bench_bm25 checking
  // its top 100 against the Python peer's). Until the cause is understood, the matcher gets a
  // bound that never prunes, and the ranking is exact (tests/unit/retrieval/bm25_test.cpp).
  double get_maxpart() const override { return std::numeric_limits<double>::max() / 1e6; }
  double get_sumextra(Xapian::termcount, Xapian::termcount) const override { return 0.0; }
  double get_maxextra() const override { return 0.0; }

 private:
  double k1_, b_;
  double scale_ = 0, average_length_ = 1;
};

Xapian::Stem make_stemmer(const std::string& stem) {
  if (stem == "none") return Xapian::Stem();
  if (stem == "english") return Xapian::Stem("english");
  usage_error("--stem must be none or english, got '" + stem + "'");
}

}  // namespace

void Bm25Options::validate() const {
  if (!(k1 >= 0)) usage_error(fmt::format("--k1 must be >= 0, got {}", k1));
  if (!(b >= 0 && b <= 1)) usage_error(fmt::format("--b must be in [0, 1], got {}", b));
  make_stemmer(stem);
}

Json Bm25Options::to_json() const { return Json{{"k1", k1}, {"b", b}, {"stem", stem}, {"stopwords", stopwords}}; }

std::vector<std::string> bm25_tokens(const std::string& text, const std::string& stem, bool stopwords) {
  // Lucene's EnglishAnalyzer.ENGLISH_STOP_WORDS_SET, the list Anserini's BM25 baselines use.
  static const std::unordered_set<std::string> english_stop_words = {
      "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no", "not",
      "of", "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to", "was", "will", "with"};
  const auto stemmer = make_stemmer(stem);
  std::vector<std::string> tokens;
  std::string current;
  auto flush = [&] {
    if (current.empty()) return;
    if (!stopwords || !english_stop_words.count(current)) tokens.push_back(stem == "none" ? current : stemmer(current));
    current.clear();
  };
  for (char raw : text) {
    const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(raw)));
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) current += c;
    else flush();
  }
  flush();
  return tokens;
}

namespace {
// Xapian's glass backend refuses longer terms (InvalidArgumentError). Such a run of letters or
// digits is no word (a hash, base64, a URL without punctuation), so it is left out of the
// index, as Lucene-based tools drop over-long tokens, and counted in the manifest; the
// document's length |d| counts the tokens that are indexed.
constexpr size_t kMaxTermBytes = 245;
}  // namespace

void build_bm25_index(const fs::path& corpus_dir, const fs::path& out, const Bm25Options& options, bool verbose, const ShardSpec& shard) {
  options.validate();
  // Only the corpus is read: a folder without queries or judgements can be indexed too.
  Collection collection;
  collection.name = corpus_dir.filename().string();
  collection.corpus = read_beir_corpus(corpus_dir / "corpus.jsonl");
  const auto [first, last] = nonempty_share(static_cast<int64_t>(collection.corpus.size()), shard, "documents");
  collection.corpus = std::vector<Document>(collection.corpus.begin() + first, collection.corpus.begin() + last);
  const auto empty = std::count_if(collection.corpus.begin(), collection.corpus.end(),
                                   [](const Document& d) { return d.title.empty() && d.text.empty(); });
  if (empty > 0 && verbose) fmt::print(stderr, "warning: {}: {} documents have an empty title and text (kept)\n", (corpus_dir / "corpus.jsonl").string(), empty);
  const auto staged = staging_path(out);
  fs::create_directories(staged);
  int64_t long_occurrences = 0, long_documents = 0;
  {
    Xapian::WritableDatabase db((staged / "xapian").string(), Xapian::DB_CREATE_OR_OVERWRITE);
    std::optional<Progress> progress;
    if (verbose) progress.emplace("index", static_cast<int64_t>(collection.corpus.size()), "docs");
    int64_t done = 0;
    for (const auto& doc : collection.corpus) {
      Xapian::Document xdoc;
      xdoc.set_data(doc.id);
      // wdf = occurrences, so Xapian's document length is the token count |d|; counting
      // first makes one add_term call per distinct term.
      std::unordered_map<std::string, Xapian::termcount> counts;
      for (auto& token : bm25_tokens(document_text(doc), options.stem, options.stopwords)) ++counts[std::move(token)];
      bool skipped = false;
      for (const auto& [term, wdf] : counts) {
        if (term.size() > kMaxTermBytes) {
          long_occurrences += wdf;
          skipped = true;
          continue;
        }
        xdoc.add_term(term, wdf);
      }
      long_documents += skipped;
      db.add_document(xdoc);
      if (++done % 1000 == 0 && progress) progress->update(done);
    }
    db.commit();
    if (progress) progress->finish();
  }
  Json manifest{{"kind", "bm25"},
                {"parameters", options.to_json()},
                {"collection", collection.name},
                {"documents", collection.corpus.size()},
                {"shard", {{"rank", shard.rank}, {"count", shard.count}, {"first_document", first}}},
                {"tokenizer", "lower-case [a-z0-9]+ runs"},
                {"long_terms_skipped", {{"max_bytes", kMaxTermBytes}, {"occurrences", long_occurrences}, {"documents", long_documents}}}};
  manifest.update(corpus_fingerprint(corpus_dir));
  write_json_atomic(staged / "manifest.json", manifest);
  replace_dir_atomic(staged, out);
}

// Xapian stores the index; queries are answered from a copy of its postings in memory, read
// once at open: every posting of every query term added into a dense score array, then a
// partial sort. With Xapian's matcher (its pruning off, see OkapiWeight::get_maxpart) a top-100
// query took about 10x as long on NPL (bench/bm25.py, docs/performance.md). The copy costs
// 8 bytes per posting and one read of the database per open.
struct Bm25Index::State {
  Xapian::Database db;
  Bm25Options options;
  std::vector<std::string> doc_ids;  // by Xapian docid - 1
  std::vector<double> lengths;       // |d|, the document's token count
  std::unordered_map<std::string, std::vector<std::pair<uint32_t, uint32_t>>> postings;  // term -> (docid - 1, tf)
  double average_length = 1;
};

Bm25Index::Bm25Index(const fs::path& dir) : Bm25Index(std::vector<fs::path>{dir}) {}

Bm25Index::Bm25Index(const std::vector<fs::path>& shards) : state_(std::make_unique<State>()) {
  if (shards.empty()) throw Error("a BM25 index needs at least one folder");
  std::vector<Xapian::doccount> sizes;
  for (size_t m = 0; m < shards.size(); ++m) {
    const auto& dir = shards[m];
    if (!fs::exists(dir / "manifest.json")) throw Error("index " + dir.string() + ": no manifest.json (build it with garden index build)");
    const Json manifest = read_json_file(dir / "manifest.json");
    if (manifest.value("kind", "") != "bm25") throw Error("index " + dir.string() + ": not a bm25 index");
    const auto where = (dir / "manifest.json").string();
    Bm25Options options;
    read_field(manifest["parameters"], "k1", options.k1, where);
    read_field(manifest["parameters"], "b", options.b, where);
    read_field(manifest["parameters"], "stem", options.stem, where);
    read_field(manifest["parameters"], "stopwords", options.stopwords, where);
    if (m == 0) {
      state_->options = options;
      manifest_ = manifest;
    } else if (options.to_json() != state_->options.to_json()) {
      usage_error(fmt::format("index {}: BM25 settings {} differ from those of {} ({}); shards must share them", dir.string(),
                              options.to_json().dump(), shards[0].string(), state_->options.to_json().dump()));
    }
    refuse_if_stale(manifest, dir);
    try {
      Xapian::Database shard((dir / "xapian").string());
      // build_bm25_index numbers documents 1..n in corpus order, so that order breaks ties.
      if (shard.get_lastdocid() != shard.get_doccount())
        throw Error("index " + dir.string() + ": its document ids have gaps (not written by garden index build); rebuild it");
      sizes.push_back(shard.get_doccount());
      state_->db.add_database(shard);
    } catch (const Xapian::Error& e) {
      throw Error("index " + dir.string() + ": cannot read the Xapian database (" + e.get_msg() + ")");
    }
  }
  // The combined database interleaves its shards' ids: document l of shard m is
  // (l - 1) x shards + m + 1. Position = shard's offset + l - 1, the concatenated order.
  const size_t count = shards.size();
  std::vector<uint32_t> offset(count, 0);
  for (size_t m = 1; m < count; ++m) offset[m] = offset[m - 1] + sizes[m - 1];
  const auto position = [&](Xapian::docid d) {
    return offset[(d - 1) % count] + static_cast<uint32_t>((d - 1) / count);
  };
  try {
    auto& db = state_->db;
    const Xapian::doccount n = db.get_doccount();
    state_->doc_ids.resize(n);
    state_->lengths.resize(n);
    for (size_t m = 0; m < count; ++m)
      for (Xapian::docid local = 1; local <= sizes[m]; ++local) {
        const Xapian::docid d = static_cast<Xapian::docid>((local - 1) * count + m + 1);
        state_->doc_ids[position(d)] = db.get_document(d).get_data();
        state_->lengths[position(d)] = static_cast<double>(db.get_doclength(d));
      }
    for (auto term = db.allterms_begin(); term != db.allterms_end(); ++term) {
      auto& list = state_->postings[*term];
      list.reserve(term.get_termfreq());
      for (auto posting = db.postlist_begin(*term); posting != db.postlist_end(*term); ++posting)
        list.emplace_back(position(*posting), posting.get_wdf());
    }
    if (db.get_avlength() > 0) state_->average_length = db.get_avlength();
  } catch (const Xapian::Error& e) {
    throw Error("index " + shards[0].string() + ": cannot read the Xapian databases (" + e.get_msg() + ")");
  }
  if (count > 1) {
    std::unordered_set<std::string> seen;
    for (size_t i = 0; i < state_->doc_ids.size(); ++i)
      if (!seen.insert(state_->doc_ids[i]).second)
        throw Error(fmt::format("BM25 shards {}...: document '{}' is in two of them; shards must not overlap", shards[0].string(), state_->doc_ids[i]));
    manifest_["documents"] = state_->doc_ids.size();
  }
}

Bm25Index::~Bm25Index() = default;

namespace {

// Accepts only the document whose stored id is `id`.
class OnlyDocument : public Xapian::MatchDecider {
 public:
  explicit OnlyDocument(std::string id) : id_(std::move(id)) {}
  bool operator()(const Xapian::Document& doc) const override { return doc.get_data() == id_; }

 private:
  std::string id_;
};

// The BM25 query of `query`'s terms; nothing when no term survives analysis.
std::optional<Xapian::Enquire> bm25_enquire(const Xapian::Database& db, const Bm25Options& options, const std::string& query) {
  std::map<std::string, Xapian::termcount> counts;
  for (const auto& token : bm25_tokens(query, options.stem, options.stopwords)) ++counts[token];
  if (counts.empty()) return std::nullopt;
  std::vector<Xapian::Query> terms;
  for (const auto& [term, wqf] : counts) terms.emplace_back(term, wqf);
  Xapian::Enquire enquire(db);
  enquire.set_query(Xapian::Query(Xapian::Query::OP_OR, terms.begin(), terms.end()));
  enquire.set_weighting_scheme(OkapiWeight(options.k1, options.b));
  return enquire;
}

}  // namespace

std::optional<double> Bm25Index::score(const std::string& query, const std::string& doc_id) const {
  auto enquire_for = bm25_enquire(state_->db, state_->options, query);
  if (!enquire_for) return std::nullopt;
  const OnlyDocument only(doc_id);
  const auto mset = enquire_for->get_mset(0, 1, nullptr, &only);
  if (mset.empty()) return std::nullopt;
  return mset.begin().get_weight();
}

std::vector<ScoredDoc> Bm25Index::search(const std::string& query, int64_t k) const {
  if (k <= 0) return {};
  const auto& st = *state_;
  std::map<std::string, int64_t> counts;  // a repeated query token counts again (wqf)
  for (auto& token : bm25_tokens(query, st.options.stem, st.options.stopwords)) ++counts[std::move(token)];
  const double n = static_cast<double>(st.doc_ids.size()), k1 = st.options.k1, b = st.options.b;
  std::vector<double> scores(st.doc_ids.size(), 0.0);
  std::vector<uint32_t> matched;
  for (const auto& [term, wqf] : counts) {
    const auto it = st.postings.find(term);
    if (it == st.postings.end()) continue;
    const double df = static_cast<double>(it->second.size());
    // As OkapiWeight computes it (init, then get_sumpart), so that both give the same score.
    const double scale = static_cast<double>(wqf) * std::log(1.0 + (n - df + 0.5) / (df + 0.5));
    for (const auto& [d, wdf] : it->second) {
      const double tf = static_cast<double>(wdf);
      if (scores[d] == 0) matched.push_back(d);  // every term's part is > 0: idf > 0, tf >= 1
      scores[d] += scale * tf * (k1 + 1) / (tf + k1 * (1 - b + b * st.lengths[d] / st.average_length));
    }
  }
  // Best first; equal scores in corpus order, as Xapian's matcher ranks them.
  const auto better = [&](uint32_t x, uint32_t y) { return scores[x] != scores[y] ? scores[x] > scores[y] : x < y; };
  const auto top = std::min(matched.size(), static_cast<size_t>(k));
  std::partial_sort(matched.begin(), matched.begin() + static_cast<std::ptrdiff_t>(top), matched.end(), better);
  std::vector<ScoredDoc> results;
  results.reserve(top);
  for (size_t i = 0; i < top; ++i) results.push_back({st.doc_ids[matched[i]], scores[matched[i]]});
  return results;
}

Run Bm25Index::search_all(const std::vector<Query>& queries, int64_t k) const {
  if (k < 1) usage_error(fmt::format("search: --k must be >= 1, got {}", k));
  // Xapian counts in 32 bits: a huge k would wrap; no more hits exist than documents.
  k = std::min<int64_t>(k, state_->db.get_doccount());
  Run run;
  for (const auto& q : queries) run[q.id] = search(q.text, k);
  return run;
}

}  // namespace garden::retrieval
