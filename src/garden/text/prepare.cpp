#include "garden/text/prepare.h"

#include <fmt/core.h>

#include <array>
#include <cstdio>
#include <deque>
#include <fstream>
#include <memory>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/core/json.h"
#include "garden/text/doc_prose.h"

namespace garden::text {

namespace {

std::string run_and_capture(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
  if (!pipe) throw Error("cannot run '" + command + "'");
  std::string output;
  std::array<char, 1 << 16> buffer{};
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe.get())) > 0) output.append(buffer.data(), n);
  return output;
}

bool starts_with_verse_number(const std::string& line, size_t& text_start) {
  // Verses look like "  12 And God said ..."; continuation lines have no indent.
  size_t i = 0;
  while (i < line.size() && line[i] == ' ') ++i;
  if (i == 0) return false;
  size_t j = i;
  while (j < line.size() && std::isdigit(static_cast<unsigned char>(line[j]))) ++j;
  if (j == i || j >= line.size() || line[j] != ' ') return false;
  text_start = j + 1;
  return true;
}

}  // namespace

std::vector<std::string> bible_verses() {
  if (std::system("command -v bible >/dev/null 2>&1") != 0)
    throw Error("the `bible` program is missing: install Debian's bible-kjv (scripts/setup does)");
  const std::string text = run_and_capture("bible 'gen1:1-rev22:21' 2>/dev/null");
  std::vector<std::string> verses;
  std::istringstream in(text);
  std::string line;
  std::string current;
  bool in_verse = false;
  while (std::getline(in, line)) {
    size_t start = 0;
    if (starts_with_verse_number(line, start)) {
      if (!current.empty()) verses.push_back(current);
      current = line.substr(start);
      in_verse = true;
    } else if (line.empty() || (!line.empty() && line[0] != ' ' && !in_verse)) {
      if (!current.empty()) verses.push_back(current);
      current.clear();
      in_verse = false;  // blank line or chapter heading ("Genesis 1") ends a verse
    } else if (in_verse) {
      current += " " + line;
    }
  }
  if (!current.empty()) verses.push_back(current);
  if (verses.size() < 30000) throw Error(fmt::format("bible printed only {} verses; is bible-kjv-text installed?", verses.size()));
  return verses;
}

const std::string& wordnet_lexname(int number) {
  static const std::vector<std::string> names = {
      "adj.all", "adj.pert", "adv.all", "noun.Tops", "noun.act", "noun.animal", "noun.artifact", "noun.attribute",
      "noun.body", "noun.cognition", "noun.communication", "noun.event", "noun.feeling", "noun.food", "noun.group",
      "noun.location", "noun.motive", "noun.object", "noun.person", "noun.phenomenon", "noun.plant", "noun.possession",
      "noun.process", "noun.quantity", "noun.relation", "noun.shape", "noun.state", "noun.substance", "noun.time",
      "verb.body", "verb.change", "verb.cognition", "verb.communication", "verb.competition", "verb.consumption",
      "verb.contact", "verb.creation", "verb.emotion", "verb.motion", "verb.perception", "verb.possession",
      "verb.social", "verb.stative", "verb.weather", "adj.ppl"};
  if (number < 0 || number >= static_cast<int>(names.size()))
    throw Error(fmt::format("WordNet lexicographer file {} does not exist (0..{})", number, names.size() - 1));
  return names[static_cast<size_t>(number)];
}

std::vector<WordNetSynset> wordnet_synsets(const std::filesystem::path& wordnet_dir, const std::vector<std::string>& parts) {
  std::vector<WordNetSynset> synsets;
  for (const std::string& part : parts) {
    const auto path = wordnet_dir / ("data." + part);
    std::ifstream in(path);
    if (!in) throw Error("cannot read " + path.string() + ": install Debian's wordnet-base (scripts/setup does)");
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == ' ') continue;  // the licence header is indented
      // offset lex_filenum ss_type w_cnt(hex) word lex_id [word lex_id ...] ... | gloss
      const auto bar = line.find(" | ");
      if (bar == std::string::npos) continue;
      std::istringstream fields(line);
      std::string offset, lexfile, type, count_hex;
      fields >> offset >> lexfile >> type >> count_hex;
      WordNetSynset synset;
      synset.part = part;
      synset.lexname = wordnet_lexname(std::stoi(lexfile));
      const int count = static_cast<int>(std::stoul(count_hex, nullptr, 16));
      for (int i = 0; i < count; ++i) {
        std::string word, lex_id;
        fields >> word >> lex_id;
        for (auto& c : word) if (c == '_') c = ' ';
        if (auto paren = word.find('('); paren != std::string::npos) word.resize(paren);  // adj markers "(a)"
        synset.lemmas.push_back(word);
      }
      // p_cnt, then p_cnt pointers: symbol, target offset, target part, source/target.
      int pointers = 0;
      fields >> pointers;
      for (int i = 0; i < pointers; ++i) {
        std::string symbol, target, target_part, source_target;
        fields >> symbol >> target >> target_part >> source_target;
        if ((symbol == "@" || symbol == "@i") && target_part == type) synset.hypernyms.push_back(target);
      }
      synset.offset = offset;
      synset.gloss = line.substr(bar + 3);
      while (!synset.gloss.empty() && synset.gloss.back() == ' ') synset.gloss.pop_back();
      synsets.push_back(std::move(synset));
    }
  }
  return synsets;
}

WordNetHierarchy::WordNetHierarchy(const std::vector<WordNetSynset>& synsets) : parents_(synsets.size()) {
  std::unordered_map<std::string, size_t> index_of;
  for (size_t i = 0; i < synsets.size(); ++i) index_of[synsets[i].offset] = i;
  for (size_t i = 0; i < synsets.size(); ++i)
    for (const auto& hypernym : synsets[i].hypernyms)
      if (const auto it = index_of.find(hypernym); it != index_of.end()) parents_[i].push_back(it->second);
}

std::vector<size_t> WordNetHierarchy::ancestors(size_t index) const {
  if (index >= parents_.size()) throw Error(fmt::format("WordNet hierarchy: synset {} of {}", index, parents_.size()));
  // Breadth first, so the nearest ancestors come first.
  std::vector<size_t> found;
  std::unordered_set<size_t> seen{index};
  std::deque<size_t> queue{index};
  while (!queue.empty()) {
    const size_t current = queue.front();
    queue.pop_front();
    for (const size_t parent : parents_[current])
      if (seen.insert(parent).second) {
        found.push_back(parent);
        queue.push_back(parent);
      }
  }
  return found;
}

std::vector<std::string> wordnet_glosses(const std::filesystem::path& wordnet_dir) {
  std::vector<std::string> glosses;
  for (const WordNetSynset& s : wordnet_synsets(wordnet_dir, {"noun", "verb", "adj", "adv"})) {
    std::string lemmas;
    for (const auto& lemma : s.lemmas) {
      if (!lemmas.empty()) lemmas += ", ";
      lemmas += lemma;
    }
    glosses.push_back(lemmas + ": " + s.gloss);
  }
  return glosses;
}

std::filesystem::path default_corpus_dir(const std::filesystem::path& cache_dir) { return cache_dir / "corpora" / "default"; }

namespace {

struct CorpusSource {
  std::string name, package, licence;
  std::vector<std::string> lines;
};

// Writes sources line by line into train/valid/test by blocks of 100 lines (18/1/1 of every
// 20 blocks) with a manifest of each source's package, licence and size, as one folder.
PreparedCorpus write_split_corpus(const std::filesystem::path& out, const std::string& name,
                                  const std::vector<CorpusSource>& sources) {
  std::array<std::string, 3> splits;  // train, valid, test
  Json manifest = {{"name", name}, {"sources", Json::array()}};
  for (const auto& source : sources) {
    std::array<int64_t, 3> counts{0, 0, 0};
    size_t bytes = 0;
    for (size_t i = 0; i < source.lines.size(); ++i) {
      const size_t block = (i / 100) % 20;
      const int split = block == 18 ? 1 : block == 19 ? 2 : 0;
      splits[split] += source.lines[i] + "\n";
      ++counts[split];
      bytes += source.lines[i].size() + 1;
    }
    manifest["sources"].push_back({{"name", source.name}, {"debian_package", source.package}, {"licence", source.licence},
                                   {"bytes", bytes}, {"lines", {{"train", counts[0]}, {"valid", counts[1]}, {"test", counts[2]}}}});
  }
  const auto staged = staging_path(out);
  std::filesystem::create_directories(staged);
  const std::array<const char*, 3> names = {"train", "valid", "test"};
  manifest["files"] = Json::object();
  for (size_t i = 0; i < 3; ++i) {
    write_file_atomic(staged / (std::string(names[i]) + ".txt"), splits[i]);
    manifest["files"][names[i]] = {{"bytes", splits[i].size()}, {"sha256", sha256_hex(splits[i])}};
  }
  write_json_atomic(staged / "manifest.json", manifest);
  replace_dir_atomic(staged, out);
  return PreparedCorpus{out};
}

// Every file under `dir` whose name ends in `suffix`, in name order (a stable corpus).
std::vector<std::filesystem::path> files_ending_in(const std::filesystem::path& dir, const std::string& suffix) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

PreparedCorpus prepare_default_corpus(const std::filesystem::path& out, bool force) {
  if (!force && std::filesystem::exists(out / "manifest.json")) return PreparedCorpus{out};
  claim_output_dir(out, "garden data prepare");
  return write_split_corpus(out, "default",
                            {{"bible", "bible-kjv", "public domain (the King James Version text)", bible_verses()},
                             {"wordnet", "wordnet-base", "WordNet 3.0 licence (Princeton University, BSD-like)", wordnet_glosses()}});
}

std::filesystem::path docs_corpus_dir(const std::filesystem::path& cache_dir) { return cache_dir / "corpora" / "docs"; }

static std::vector<std::string> documentation_paragraphs(const std::filesystem::path& dir, bool pod, std::unordered_set<std::string>& seen) {
  std::vector<std::string> lines;
  for (const auto& file : files_ending_in(dir, pod ? ".pod" : ".rst.txt"))
    for (auto& paragraph : pod ? pod_prose(read_file(file)) : rst_prose(read_file(file)))
      if (seen.insert(paragraph).second) lines.push_back(std::move(paragraph));
  return lines;
}

PreparedCorpus prepare_docs_corpus(const std::filesystem::path& out, bool force) {
  if (!force && std::filesystem::exists(out / "manifest.json")) return PreparedCorpus{out};
  claim_output_dir(out, "garden data prepare");
  // A paragraph repeated across documents (boilerplate, "new in version" notes) is kept once,
  // so that no held-out line also appears in training.
  std::unordered_set<std::string> seen;
  auto python = documentation_paragraphs(python_doc_sources_dir(), false, seen);
  auto perl = documentation_paragraphs(perl_pod_dir(), true, seen);
  return write_split_corpus(out, "docs",
                            {{"python-docs", "python3-doc", "PSF License Version 2 (the Python documentation)", std::move(python)},
                             {"perl-docs", "perl-doc", "GPL-1+ or Artistic (Perl's manuals)", std::move(perl)}});
}

}  // namespace garden::text
