// `garden data prepare`: the built-in text corpora, made from Debian packages that
// scripts/setup installs (never downloaded):
//   bible   - the King James Bible printed by bible-kjv's `bible` program, one verse a line
//   wordnet - WordNet 3.0 glosses from wordnet-base, "lemma, lemma: gloss" one synset a line
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

// The lines of each source, cleaned; throws naming the missing package.
std::vector<std::string> bible_verses();
std::vector<std::string> wordnet_glosses(const std::filesystem::path& wordnet_dir = "/usr/share/wordnet");

// Writes the corpus to `out` (atomically, as one folder) unless a complete one is there.
PreparedCorpus prepare_default_corpus(const std::filesystem::path& out, bool force = false);

// The default corpus folder under the cache: <cache>/corpora/default.
std::filesystem::path default_corpus_dir(const std::filesystem::path& cache_dir);

}  // namespace garden::text
