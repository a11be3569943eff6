// Claims: the facts the wiki compiles, in the attribute-value form of llm-wiki.md's
// evolving-facts collection: (entity, attribute, value) stated by a source on its date at a line.
// Three places read or write them, with the same patterns:
//   - the generator writes statements in news prose (statement_sentence),
//   - the deterministic extractor reads them back from raw sources (extract_prose_claims),
//   - the template reader reads them from whatever text a system returns: raw chunks (prose)
//     or wiki pages (claim lines, claim_line/extract_page_claims), so RAG and the wiki are
//     judged by one reader.
// Tokens: word pieces (a run of letters or digits, or one other non-space character), one
// counter for the wiki, RAG and the compile cost.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace garden::wiki {

// The attributes of the evolving-facts towns; the prose templates and the reader know these.
enum class Attribute { mayor, river, twin, population };
inline constexpr Attribute kAttributes[] = {Attribute::mayor, Attribute::river, Attribute::twin, Attribute::population};
std::string to_string(Attribute attribute);  // "mayor", "river", "twin town", "population"
std::optional<Attribute> parse_attribute(const std::string& name);

struct Claim {
  std::string entity;  // "Bramwick"
  Attribute attribute = Attribute::mayor;
  std::string value;   // "Ada Morrow"
  std::string date;    // YYYY-MM-DD, the source's date
  std::string source;  // source id, e.g. "doc-0042"
  int64_t line = 0;    // 1-based line of the source that states it
  bool operator==(const Claim& other) const;
};

// One sentence stating `attribute` of `entity` in one of the prose templates (`variant` picks
// which; every template is one the extractor reads). `restate`: a sentence that mentions the
// current value in passing ("Ada Morrow, the mayor of Bramwick, opened ...").
std::string statement_sentence(Attribute attribute, const std::string& entity, const std::string& value, int variant, bool restate);

// The claims stated by the lines of a raw source (line numbers 1-based), dated `date`.
std::vector<Claim> extract_prose_claims(const std::string& text, const std::string& date, const std::string& source);
// The date line of a raw source: its first line when it starts "YYYY-MM-DD"; "" otherwise.
std::string source_date(const std::string& text);

// A wiki claim line: "- mayor of Bramwick: Ada Morrow (2021-03-04) ^[doc-0042:L5-L5]"; with
// `note`, the note follows the date inside the parentheses ("2019-02-01, superseded").
std::string claim_line(const Claim& claim, const std::string& note = "");
// The claims in a wiki page's claim lines, with their provenance.
std::vector<Claim> extract_page_claims(const std::string& text);

// Both kinds from any text: claim lines, and prose sentences dated by the nearest date line
// above them (the first line of a chunk of a raw source carries its date).
std::vector<Claim> extract_any_claims(const std::string& text);

int64_t count_tokens(const std::string& text);
// The text cut into pieces of at most `tokens` tokens at line ends where a line fits, each a
// run of whole lines unless one line alone is longer (then it is cut between tokens).
std::vector<std::string> chunk_by_tokens(const std::string& text, int64_t tokens);

}  // namespace garden::wiki
