// The evolving-facts collection of llm-wiki.md's reproduction, generated from a seed: fictional
// towns with four attributes (mayor, river, twin town, population band), dated news sources
// that state, update and restate them among filler and distractor sentences, same-date
// contradictions for lint, and questions with gold answers of four types:
//   Q1 current value   "Who is the mayor of Bramwick?" / "... twin town of ..."
//   Q2 history count   "How many different mayors has Bramwick had?" (or twin towns)
//   Q3 join            "Which towns lie on the river Oska?" / "... the same river as Bramwick?"
//   Q4 single mention  "What is the population of Bramwick?" (stated by one source only)
// Sources are one sentence a line under a date line, so provenance is a line range.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "garden/core/json.h"
#include "garden/wiki/claims.h"

namespace garden::wiki {

struct EvolvingFactsOptions {
  int64_t towns = 60;
  int64_t sources = 240;
  int64_t rivers = 20;          // each river has towns / rivers towns
  int64_t contradictions = 20;  // same-date conflicting mayor statements (non-latest, so no question is ambiguous)
  int64_t questions = 300;      // 40% Q1, 20% each Q2-Q4
  // Sentences that mention a town without stating a fact, per source; fixed after a pilot in
  // which BM25 top-3 chunks still miss the newest mayor statement of some towns (docs/wiki.md).
  int64_t distractors_per_source = 3;
  int64_t fillers_per_source = 3;  // sentences that mention no town
  uint64_t seed = 0;
  void validate() const;
};

struct Source {
  std::string id;    // "doc-0001"
  std::string date;  // YYYY-MM-DD
  std::string text;  // date line, then one sentence a line
};

struct Question {
  std::string id;    // "q-001"
  std::string type;  // Q1 | Q2 | Q3 | Q4
  std::string text;
  std::string answer;  // lists: names sorted and joined by ", "
};

struct Contradiction {
  std::string entity;
  Attribute attribute = Attribute::mayor;
  std::string date;
  std::vector<std::string> sources;  // the two sources stating different values that day
};

struct EvolvingFacts {
  std::vector<Source> sources;  // in date order
  std::vector<Question> questions;
  std::vector<Contradiction> contradictions;
  std::vector<Claim> truth;  // every statement the sources make, with source and line
  int64_t updates = 0, restatements = 0, statements = 0;
};

EvolvingFacts generate_evolving_facts(const EvolvingFactsOptions& options);

// Writes <dir>/sources/<id>.md, questions.jsonl ({"_id", "type", "text", "answer"}) and
// truth.json (claims, contradictions, counts).
void write_evolving_facts(const EvolvingFacts& facts, const std::filesystem::path& dir);

// Exact match: case and surrounding spaces ignored; list answers compared as sets.
bool answer_matches(const std::string& predicted, const std::string& gold);

}  // namespace garden::wiki
