// `garden data prepare`: the built-in text corpora, made from Debian packages that
// scripts/setup installs (never downloaded):
//   bible   - the King James Bible printed by bible-kjv's `bible` program, one verse a line
//   wordnet - WordNet 3.0 glosses from wordnet-base, "lemma, lemma: gloss" one synset a line
//   docs    - prose paragraphs of the Python documentation and Perl's manuals (below)
// Each is split into train/valid/test by blocks of 100 lines (18/1/1 of every 20 blocks),
// so held-out text comes from all over the source, not one end of it.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace garden::text {

struct PreparedCorpus {
  std::filesystem::path dir;  // holds train.txt, valid.txt, test.txt, manifest.json
  std::filesystem::path split(const std::string& name) const { return dir / (name + ".txt"); }
};

// Where Debian's wordnet-base puts the WordNet dict files (setup installs it).
inline constexpr const char* kWordnetDir = "/usr/share/wordnet";

// The lines of each source, cleaned; throws naming the missing package.
std::vector<std::string> bible_verses();
std::vector<std::string> wordnet_glosses(const std::filesystem::path& wordnet_dir = kWordnetDir);

// One WordNet synset: its part of speech (noun, verb, adj, adv), lexicographer file
// (e.g. noun.animal: the label of the gloss classification and clustering tasks), lemmas
// (underscores as spaces, adjective markers dropped), gloss, its offset in data.<part> and
// the offsets of its hypernyms of the same part (class "@" and instance "@i" pointers).
struct WordNetSynset {
  std::string part, lexname;
  std::vector<std::string> lemmas;
  std::string gloss;
  std::string offset;
  std::vector<std::string> hypernyms;
};
std::vector<WordNetSynset> wordnet_synsets(const std::filesystem::path& wordnet_dir, const std::vector<std::string>& parts);

// The hypernym hierarchy of a list of synsets (one part of speech): every synset's
// ancestors, through any number of hypernym links.
class WordNetHierarchy {
 public:
  explicit WordNetHierarchy(const std::vector<WordNetSynset>& synsets);
  // Indices of synsets[index]'s ancestors, nearest first (each once); hypernyms outside
  // the list are skipped.
  std::vector<size_t> ancestors(size_t index) const;

 private:
  std::vector<std::vector<size_t>> parents_;
};
// WordNet's lexicographer file names (lexnames(5WN)), by number 0..44; throws past that.
const std::string& wordnet_lexname(int number);

// Writes the corpus to `out` (atomically, as one folder) unless a complete one is there.
PreparedCorpus prepare_default_corpus(const std::filesystem::path& out, bool force = false);

// The default corpus folder under the cache: <cache>/corpora/default.
std::filesystem::path default_corpus_dir(const std::filesystem::path& cache_dir);

// The documentation corpus: English prose of the Python documentation (python3-doc) and
// Perl's manuals (perl-doc), cleaned by text/doc_prose.h, each paragraph kept once, split like
// the default corpus. Its manifest names each source's package, licence and size.
PreparedCorpus prepare_docs_corpus(const std::filesystem::path& out, bool force = false);
// <cache>/corpora/docs.
std::filesystem::path docs_corpus_dir(const std::filesystem::path& cache_dir);

}  // namespace garden::text
