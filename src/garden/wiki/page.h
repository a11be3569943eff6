// A wiki page (llm-wiki.md, "Page format"): YAML front matter, then a markdown body.
//   ---
//   title: Bramwick
//   type: entity                 source | entity | concept | synthesis
//   summary: town; mayor Ada Morrow; river Oska
//   sources: [doc-0003, doc-0042]
//   created: 2019-02-01
//   updated: 2023-07-11
//   confidence: low              optional (entity pages with a same-date conflict)
//   ---
//   # Bramwick
//   - mayor of Bramwick: Ada Morrow (2023-07-11) ^[doc-0042:L5-L5]
// Links are [[slug]]; a page's slug is its file name, unique across the wiki's folders. Every
// factual line ends with a provenance marker ^[src-id:Lx-Ly] into raw/.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace garden::wiki {

struct Page {
  std::string slug;  // file name without .md
  std::string title, type, summary;
  std::vector<std::string> sources;
  std::string created, updated;
  std::optional<std::string> confidence;
  std::string body;
};

inline constexpr const char* kPageTypes[] = {"source", "entity", "concept", "synthesis"};
// The folder under wiki/ of a page type: sources, entities, concepts, syntheses.
std::string folder_of_type(const std::string& type);

// The page in `text` (`where` names it in errors: "wiki/entities/x.md").
Page parse_page(const std::string& text, const std::string& slug, const std::string& where);
std::string render_page(const Page& page);

// "Bramwick" -> "bramwick", "River Oska" -> "river-oska": lower case, runs of other
// characters as one '-'; never empty.
std::string slugify(const std::string& text);

// The slugs of the [[slug]] and [[slug|label]] links in `text`, in order.
std::vector<std::string> links_in(const std::string& text);

struct Provenance {
  std::string source;
  int64_t first = 0, last = 0;
};
// The marker a line ends with, if any.
std::optional<Provenance> provenance_of(const std::string& line);
// A line that states something: a bullet or quote with text besides links and markers.
bool is_factual_line(const std::string& line);

}  // namespace garden::wiki
