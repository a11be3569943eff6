#include "garden/wiki/wiki.h"

#include <fmt/core.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/retrieval/bm25.h"
#include "garden/wiki/line_index.h"
#include "garden/wiki/reader.h"

namespace garden::wiki {

namespace fs = std::filesystem;

namespace {

const char* const kSchema = R"(# WIKI.md: how this wiki is kept

This folder is an LLM Wiki (Karpathy's pattern): sources go into `raw/` and are compiled into
the pages under `wiki/`. `garden wiki ingest|query|lint` maintain it; a person or a model
editing pages by hand follows the same conventions.

## Layers
- `raw/`: the sources as ingested. Never edit or delete them; every claim cites them.
- `wiki/`: pages owned by the maintainer. `sources/` (one summary per source), `entities/`
  (one per entity: current values, dated history, conflicts), `concepts/` (one per attribute
  value, listing the entities that hold it), `syntheses/` (answers filed back by queries).
- This file: the conventions. Change it when the conventions change.

## Page format
YAML front matter (`title`, `type`: source | entity | concept | synthesis, `summary`,
`sources: [ids]`, `created`, `updated`, optional `confidence`), then markdown. Link pages as
`[[slug]]` (the file name without `.md`). Every factual line ends with a provenance marker
`^[src-id:Lx-Ly]`: the raw source and its lines that state it.

## Rules
- A newer dated claim becomes current; the older one moves to the history with its date.
- Two different values on the same date are a conflict: list both under `## Conflicts`, never
  pick one silently.
- `wiki/index.md` lists every page once; `wiki/log.md` is append-only, one heading per
  operation: `## [YYYY-MM-DD] ingest|query|lint | title`.
- Run `garden wiki lint` after hand edits: broken links, orphans, uncited lines, citations
  that do not hold, contradictions and stale claims.
)";

// Values of these attributes get a page of their own (a river, a twin town).
bool is_concept_attribute(Attribute a) { return a == Attribute::river || a == Attribute::twin; }

bool claim_order(const Claim& a, const Claim& b) {
  if (a.attribute != b.attribute) return a.attribute < b.attribute;
  if (a.date != b.date) return a.date < b.date;
  if (a.value != b.value) return a.value < b.value;
  if (a.source != b.source) return a.source < b.source;
  return a.line < b.line;
}

std::vector<Claim> sorted_unique(std::vector<Claim> claims) {
  std::sort(claims.begin(), claims.end(), claim_order);
  claims.erase(std::unique(claims.begin(), claims.end()), claims.end());
  return claims;
}

fs::path wiki_dir(const fs::path& root) { return root / "wiki"; }
fs::path page_path(const fs::path& root, const std::string& type, const std::string& slug) {
  return wiki_dir(root) / folder_of_type(type) / (slug + ".md");
}

std::string concept_slug(Attribute a, const std::string& value) { return slugify(to_string(a) + " " + value); }

// ---- the pages on disk -------------------------------------------------------------------------

struct LoadedPage {
  Page page;
  fs::path path;
};

struct PageSet {
  std::map<std::string, LoadedPage> by_slug;
  std::vector<LintProblem> problems;  // pages that do not parse, slugs in two folders
};

PageSet load_pages(const fs::path& root) {
  PageSet set;
  for (const auto* type : kPageTypes) {
    const auto dir = wiki_dir(root) / folder_of_type(type);
    if (!fs::is_directory(dir)) continue;
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir))
      if (entry.is_regular_file() && entry.path().extension() == ".md") files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      const auto slug = file.stem().string();
      const auto where = fs::relative(file, root).string();
      try {
        auto page = parse_page(read_file(file), slug, where);
        if (set.by_slug.count(slug)) {
          set.problems.push_back({"bad_page", slug, fmt::format("{}: the slug is also used by {}", where, set.by_slug[slug].path.string())});
          continue;
        }
        set.by_slug[slug] = LoadedPage{std::move(page), file};
      } catch (const Error& e) {
        set.problems.push_back({"bad_page", slug, e.what()});
      }
    }
  }
  return set;
}

std::optional<Page> read_page(const fs::path& root, const std::string& type, const std::string& slug) {
  const auto path = page_path(root, type, slug);
  if (!fs::exists(path)) return std::nullopt;
  return parse_page(read_file(path), slug, fs::relative(path, root).string());
}

// ---- index and log ------------------------------------------------------------------------

std::string index_line(const Page& page) {
  return fmt::format("- [[{}]] {} — {} · updated {} · {} source{}", page.slug, page.title, page.summary, page.updated, page.sources.size(),
                     page.sources.size() == 1 ? "" : "s");
}

std::string render_index(const PageSet& pages) {
  std::string out = "# Index\n\nOne line per page: link, title, summary, last update, number of sources.\n";
  const std::pair<const char*, const char*> groups[] = {
      {"entity", "Entities"}, {"concept", "Concepts"}, {"synthesis", "Syntheses"}, {"source", "Sources"}};
  for (const auto& [type, heading] : groups) {
    out += fmt::format("\n## {}\n", heading);
    for (const auto& [slug, loaded] : pages.by_slug)
      if (loaded.page.type == type) out += index_line(loaded.page) + "\n";
  }
  return out;
}

// Rewrites index.md from the pages; true when it changed.
bool rebuild_index(const fs::path& root) {
  const auto text = render_index(load_pages(root));
  const auto path = wiki_dir(root) / "index.md";
  if (fs::exists(path) && read_file(path) == text) return false;
  write_file_atomic(path, text);
  return true;
}

void append_log(const fs::path& root, const std::string& today, const std::string& op, const std::string& title,
                const std::vector<std::string>& details) {
  std::string block = fmt::format("\n## [{}] {} | {}\n", today, op, title);
  for (const auto& d : details) block += "- " + d + "\n";
  std::ofstream out(wiki_dir(root) / "log.md", std::ios::app | std::ios::binary);
  out << block;
  out.flush();
  if (!out) throw Error(fmt::format("{}: cannot append to the log", (wiki_dir(root) / "log.md").string()));
}

// ---- entity and concept pages ---------------------------------------------------------------

struct EntityView {
  std::vector<Claim> current, history, conflicts;  // current: one newest claim per attribute without a conflict
  std::map<Attribute, std::string> current_value;   // the attribute's newest value (the first of a conflict)
};

EntityView view_of(const std::vector<Claim>& sorted_claims) {
  EntityView view;
  std::map<Attribute, std::vector<Claim>> by_attribute;
  for (const auto& c : sorted_claims) by_attribute[c.attribute].push_back(c);
  for (const auto& [attribute, claims] : by_attribute) {
    std::map<std::string, std::set<std::string>> values_on;  // date -> values
    for (const auto& c : claims) values_on[c.date].insert(c.value);
    const auto& newest_date = claims.back().date;
    const Claim* current = nullptr;
    for (const auto& c : claims) {
      if (values_on[c.date].size() > 1) view.conflicts.push_back(c);
      else if (c.date == newest_date) current = &c;  // the last of equal claims on the newest date
    }
    for (const auto& c : claims)
      if (values_on[c.date].size() == 1 && &c != current) view.history.push_back(c);
    if (current) view.current.push_back(*current);
    view.current_value[attribute] = current ? current->value : *values_on[newest_date].begin();
  }
  return view;
}

std::string history_note(const Claim& c, const EntityView& view) {
  const auto it = view.current_value.find(c.attribute);
  const bool same = it != view.current_value.end() && it->second == c.value;
  return same ? "restated later" : "superseded";
}

Page render_entity(const std::string& entity, const std::vector<Claim>& sorted_claims) {
  const auto view = view_of(sorted_claims);
  Page page;
  page.slug = slugify(entity);
  page.title = entity;
  page.type = "entity";
  std::set<std::string> sources, dates;
  for (const auto& c : sorted_claims) {
    sources.insert(c.source);
    dates.insert(c.date);
  }
  page.sources.assign(sources.begin(), sources.end());
  page.created = dates.empty() ? "" : *dates.begin();
  page.updated = dates.empty() ? "" : *dates.rbegin();
  if (!view.conflicts.empty()) page.confidence = "low";
  std::string summary;
  for (const auto a : kAttributes) {
    const auto it = view.current_value.find(a);
    if (it == view.current_value.end()) continue;
    // No current claim: the newest date holds a conflict.
    const bool disputed = std::none_of(view.current.begin(), view.current.end(), [&](const Claim& c) { return c.attribute == a; });
    summary += fmt::format("{}{} {}{}", summary.empty() ? "" : "; ", to_string(a), it->second, disputed ? " (disputed)" : "");
  }
  page.summary = summary.empty() ? "an entity without claims" : summary;
  std::string body = fmt::format("# {}\n\n## Current\n", entity);
  for (const auto& c : view.current) body += claim_line(c) + "\n";
  if (!view.history.empty()) {
    body += "\n## History\n";
    for (const auto& c : view.history) body += claim_line(c, history_note(c, view)) + "\n";
  }
  if (!view.conflicts.empty()) {
    body += "\n## Conflicts\n";
    for (const auto& c : view.conflicts) body += claim_line(c, "conflict") + "\n";
  }
  std::string links;
  for (const auto a : kAttributes) {
    if (!is_concept_attribute(a)) continue;
    std::set<std::string> values;
    for (const auto& c : sorted_claims)
      if (c.attribute == a) values.insert(c.value);
    for (const auto& v : values) links += fmt::format("- [[{}]]\n", concept_slug(a, v));
  }
  if (!links.empty()) body += "\n## Links\n" + links;
  body += "\n## Sources\n";
  for (const auto& s : page.sources) body += fmt::format("- [[{}]]\n", s);
  page.body = body;
  return page;
}

// A concept page: the entities whose current value of `attribute` is `value` (Now), and those
// that held it before (Formerly), each by its newest claim of that value.
Page render_concept(Attribute attribute, const std::string& value, const std::map<std::string, std::vector<Claim>>& claims_by_entity) {
  Page page;
  page.slug = concept_slug(attribute, value);
  page.title = fmt::format("{} ({})", value, to_string(attribute));
  page.type = "concept";
  std::vector<Claim> now, before;
  std::set<std::string> sources, dates;
  for (const auto& [entity, claims] : claims_by_entity) {
    const auto view = view_of(claims);
    const Claim* newest = nullptr;
    for (const auto& c : claims)
      if (c.attribute == attribute && c.value == value) newest = &c;
    if (!newest) continue;
    const auto it = view.current_value.find(attribute);
    (it != view.current_value.end() && it->second == value ? now : before).push_back(*newest);
    sources.insert(newest->source);
    dates.insert(newest->date);
  }
  page.sources.assign(sources.begin(), sources.end());
  page.created = dates.empty() ? "" : *dates.begin();
  page.updated = dates.empty() ? "" : *dates.rbegin();
  std::string holders;
  for (const auto& c : now) holders += (holders.empty() ? "" : ", ") + c.entity;
  page.summary = fmt::format("{} {}; now: {}", to_string(attribute), value, holders.empty() ? "none" : holders);
  std::string body = fmt::format("# {}\n\n## Now\n", page.title);
  for (const auto& c : now) body += claim_line(c) + "\n";
  if (!before.empty()) {
    body += "\n## Formerly\n";
    for (const auto& c : before) body += claim_line(c, "superseded") + "\n";
  }
  body += "\n## Entities\n";
  std::set<std::string> entities;
  for (const auto& c : now) entities.insert(c.entity);
  for (const auto& c : before) entities.insert(c.entity);
  for (const auto& e : entities) body += fmt::format("- [[{}]]\n", slugify(e));
  page.body = body;
  return page;
}

// The claims an entity page holds about its own entity.
std::vector<Claim> entity_claims(const Page& page) {
  std::vector<Claim> out;
  for (auto& c : extract_page_claims(page.body))
    if (slugify(c.entity) == page.slug) out.push_back(std::move(c));
  return sorted_unique(std::move(out));
}

// Writes `page` when its text differs from what is on disk; returns the tokens written (0 when unchanged).
int64_t write_page(const fs::path& root, const Page& page, bool* created = nullptr) {
  const auto path = page_path(root, page.type, page.slug);
  const auto text = render_page(page);
  const bool exists = fs::exists(path);
  if (created) *created = !exists;
  if (exists && read_file(path) == text) return 0;
  fs::create_directories(path.parent_path());
  write_file_atomic(path, text);
  return count_tokens(text);
}

// ---- sources ------------------------------------------------------------------------------

// The sha256 a source page records on its "Raw: `raw/<file>` (sha256 <hex>)" line; "" when none.
std::string recorded_hash(const std::string& page_text) {
  const auto raw = page_text.find("\nRaw: `raw/");
  if (raw == std::string::npos) return "";
  const auto sha = page_text.find("(sha256 ", raw);
  const auto end = page_text.find('\n', raw + 1);
  if (sha == std::string::npos || sha > end || sha + 8 + 64 > page_text.size()) return "";
  return page_text.substr(sha + 8, 64);
}

// The source id whose page records `sha`, if any.
std::optional<std::string> source_with_hash(const fs::path& root, const std::string& sha) {
  const auto dir = wiki_dir(root) / "sources";
  if (!fs::is_directory(dir)) return std::nullopt;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().extension() == ".md" && recorded_hash(read_file(entry.path())) == sha) return entry.path().stem().string();
  return std::nullopt;
}

// raw/<file> of a source id (its stem), if present.
std::optional<fs::path> raw_file_of(const fs::path& root, const std::string& source_id) {
  if (!fs::is_directory(root / "raw")) return std::nullopt;
  for (const auto& entry : fs::directory_iterator(root / "raw"))
    if (entry.is_regular_file() && entry.path().stem().string() == source_id) return entry.path();
  return std::nullopt;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<Claim> model_claims(agent::ChatModel& model, const std::string& text, const std::string& date, const std::string& source,
                                int64_t& rejected) {
  const auto lines = lines_of(text);
  std::string numbered;
  for (size_t i = 0; i < lines.size(); ++i) numbered += fmt::format("L{}: {}\n", i + 1, lines[i]);
  std::vector<agent::Message> messages = {
      {.role = "system",
       .content = "You extract facts from a news source. Attributes: mayor, river, twin town, population. Reply with one line per fact: "
                  "entity | attribute | value | line number. Reply NONE when it states none.",
       .tool_calls = {}, .tool_call_id = "", .pinned = false},
      {.role = "user", .content = numbered, .tool_calls = {}, .tool_call_id = "", .pinned = false}};
  const auto reply = model.complete(messages, Json::array());
  std::vector<Claim> claims;
  for (const auto& line : lines_of(reply.message.content)) {
    std::vector<std::string> fields;
    std::istringstream in(line);
    for (std::string f; std::getline(in, f, '|');) {
      const auto a = f.find_first_not_of(" \t-*"), b = f.find_last_not_of(" \t\r");
      fields.push_back(a == std::string::npos ? "" : f.substr(a, b - a + 1));
    }
    if (fields.size() != 4) continue;  // prose around the list
    const auto attribute = parse_attribute(fields[1]);
    int64_t number = 0;
    try {
      number = std::stoll(fields[3].starts_with("L") ? fields[3].substr(1) : fields[3]);
    } catch (const std::exception&) {
      number = 0;
    }
    // A claim counts only when its line exists and names both the entity and the value.
    if (!attribute || number < 1 || number > static_cast<int64_t>(lines.size()) || fields[0].empty() || fields[2].empty() ||
        lines[static_cast<size_t>(number - 1)].find(fields[0]) == std::string::npos ||
        lines[static_cast<size_t>(number - 1)].find(fields[2]) == std::string::npos) {
      ++rejected;
      continue;
    }
    claims.push_back(Claim{.entity = fields[0], .attribute = *attribute, .value = fields[2], .date = date, .source = source, .line = number});
  }
  return claims;
}

std::string title_of_source(const std::string& text, const std::string& fallback) {
  for (const auto& line : lines_of(text)) {
    auto t = line;
    while (!t.empty() && (t.front() == '#' || t.front() == ' ')) t.erase(t.begin());
    if (!t.empty()) return t.size() > 120 ? t.substr(0, 117) + "..." : t;
  }
  return fallback;
}

}  // namespace

// ---- init -------------------------------------------------------------------------------------

void require_wiki(const fs::path& root) {
  for (const auto& part : {root / "WIKI.md", root / "raw", wiki_dir(root) / "index.md", wiki_dir(root) / "log.md"})
    if (!fs::exists(part)) throw Error(fmt::format("{}: not a wiki ({} is missing; create one with garden wiki init)", root.string(), part.string()));
}

void init_wiki(const fs::path& root) {
  if (fs::exists(root) && (!fs::is_directory(root) || !fs::is_empty(root)))
    throw Error(fmt::format("{}: exists and is not an empty folder; garden wiki init creates a new wiki and overwrites nothing", root.string()),
                ErrorKind::usage);
  fs::create_directories(root / "raw");
  for (const auto* type : kPageTypes) fs::create_directories(wiki_dir(root) / folder_of_type(type));
  write_file_atomic(root / "WIKI.md", kSchema);
  write_file_atomic(wiki_dir(root) / "log.md", "# Log\n\nAppend-only: one heading per operation, `## [YYYY-MM-DD] <op> | <title>`.\n");
  rebuild_index(root);
}

// ---- ingest -----------------------------------------------------------------------------------

IngestReport ingest(const fs::path& root, const fs::path& file, const Backend& backend, const std::string& today) {
  require_wiki(root);
  if (!fs::is_regular_file(file)) throw Error(fmt::format("{}: no such file to ingest", file.string()), ErrorKind::usage);
  const auto text = read_file(file);
  IngestReport report;
  const auto sha = sha256_hex(text);
  if (source_with_hash(root, sha)) {
    report.unchanged = true;
    return report;
  }
  // The source id: the file's name, made unique when another source already has it. A raw
  // copy of the same content without a page (an ingest killed after copying) is taken over.
  const bool already_raw = fs::equivalent(fs::absolute(file).parent_path(), root / "raw");
  std::string id = already_raw ? file.stem().string() : slugify(file.stem().string());
  const auto taken = [&](const std::string& candidate) {
    const auto raw = raw_file_of(root, candidate);
    const bool interrupted = raw && !fs::exists(page_path(root, "source", candidate)) && sha256_file_hex(*raw) == sha;
    return !interrupted && (raw || fs::exists(page_path(root, "source", candidate)));
  };
  if (!already_raw)
    for (int n = 2; taken(id); ++n) id = fmt::format("{}-{}", slugify(file.stem().string()), n);
  const auto existing = raw_file_of(root, id);
  const auto raw_path = already_raw ? file : existing ? *existing : root / "raw" / (id + file.extension().string());
  if (!fs::exists(raw_path)) write_file_atomic(raw_path, text);
  report.source_id = id;
  report.tokens_read += count_tokens(text);

  const auto date = source_date(text);
  auto claims = backend.model ? model_claims(*backend.model, text, date, id, report.rejected_claims) : extract_prose_claims(text, date, id);
  claims = sorted_unique(std::move(claims));
  report.claims = static_cast<int64_t>(claims.size());

  // The source's own page.
  Page source;
  source.slug = id;
  source.type = "source";
  source.title = title_of_source(text, file.filename().string());
  source.sources = {id};
  source.created = source.updated = date.empty() ? today : date;
  std::set<std::string> entities;
  for (const auto& c : claims) entities.insert(c.entity);
  source.summary = fmt::format("{} claim{} about {} entit{}", claims.size(), claims.size() == 1 ? "" : "s", entities.size(),
                               entities.size() == 1 ? "y" : "ies");
  std::string body = fmt::format("# {}\n\nRaw: `raw/{}` (sha256 {})\n", source.title, raw_path.filename().string(), sha);
  if (!claims.empty()) {
    body += "\n## Claims\n";
    for (const auto& c : claims) body += claim_line(c) + "\n";
    body += "\n## Entities\n";
    for (const auto& e : entities) body += fmt::format("- [[{}]]\n", slugify(e));
  } else {
    body += "\n## Excerpt\n";
    const auto lines = lines_of(text);
    int shown = 0;
    for (size_t i = 0; i < lines.size() && shown < 5; ++i) {
      if (lines[i].find_first_not_of(" \t\r") == std::string::npos) continue;
      body += fmt::format("> {} ^[{}:L{}-L{}]\n", lines[i], id, i + 1, i + 1);
      ++shown;
    }
  }
  source.body = body;
  report.tokens_written += write_page(root, source);
  report.created.push_back(id);

  // Entity pages: the old claims and the new ones, re-derived.
  std::map<std::string, std::vector<Claim>> affected;  // entity -> all its claims after this ingest
  std::map<std::string, std::map<Attribute, std::string>> old_current;
  for (const auto& entity : entities) {
    std::vector<Claim> all;
    if (const auto old = read_page(root, "entity", slugify(entity))) {
      report.tokens_read += count_tokens(render_page(*old));
      all = entity_claims(*old);
      old_current[entity] = view_of(all).current_value;
    }
    for (const auto& c : claims)
      if (c.entity == entity) all.push_back(c);
    all = sorted_unique(std::move(all));
    const auto view = view_of(all);
    for (const auto& [attribute, value] : old_current[entity])
      if (view.current_value.at(attribute) != value) ++report.superseded;
    bool created = false;
    const auto page = render_entity(entity, all);
    const auto written = write_page(root, page, &created);
    report.tokens_written += written;
    if (written > 0) (created ? report.created : report.updated).push_back(page.slug);
    affected[entity] = std::move(all);
  }
  for (const auto& c : claims) {  // this source's claims that disagree with another on their date
    std::set<std::string> values;
    for (const auto& other : affected[c.entity])
      if (other.attribute == c.attribute && other.date == c.date) values.insert(other.value);
    if (values.size() > 1) ++report.conflicts;
  }

  // Concept pages of every value an affected entity holds or held, re-derived from the entity
  // pages that mention the value.
  std::set<std::pair<Attribute, std::string>> concepts;
  for (const auto& [entity, all] : affected)
    for (const auto& c : all)
      if (is_concept_attribute(c.attribute)) concepts.insert({c.attribute, c.value});
  for (const auto& [attribute, value] : concepts) {
    std::map<std::string, std::vector<Claim>> holders;
    if (const auto old = read_page(root, "concept", concept_slug(attribute, value))) {
      report.tokens_read += count_tokens(render_page(*old));
      for (const auto& slug : links_in(old->body))
        if (const auto holder = read_page(root, "entity", slug)) holders[holder->title] = entity_claims(*holder);
    }
    for (const auto& [entity, all] : affected) holders[entity] = all;
    bool created = false;
    const auto page = render_concept(attribute, value, holders);
    const auto written = write_page(root, page, &created);
    report.tokens_written += written;
    if (written > 0) (created ? report.created : report.updated).push_back(page.slug);
  }

  rebuild_index(root);
  std::vector<std::string> details = {fmt::format("source: [[{}]] ({} claims{})", id, report.claims,
                                                  report.rejected_claims ? fmt::format(", {} rejected", report.rejected_claims) : "")};
  std::string created, updated;
  for (const auto& s : report.created) created += (created.empty() ? "" : ", ") + fmt::format("[[{}]]", s);
  for (const auto& s : report.updated) updated += (updated.empty() ? "" : ", ") + fmt::format("[[{}]]", s);
  details.push_back("created: " + (created.empty() ? "none" : created));
  if (!updated.empty()) details.push_back("updated: " + updated);
  if (report.superseded || report.conflicts) details.push_back(fmt::format("superseded {}, conflicts {}", report.superseded, report.conflicts));
  append_log(root, today, "ingest", source.title, details);
  return report;
}

// ---- query ------------------------------------------------------------------------------------

struct Navigator::State {
  fs::path root;
  std::unique_ptr<LineIndex> index;                  // BM25 over index.md's lines
  std::map<std::string, std::string> index_line_of;  // slug -> its index.md line
  std::map<std::string, Page> pages;                 // slug -> page
  std::map<std::string, int64_t> line_frequency;     // stemmed word -> index lines holding it
};

Navigator::Navigator(fs::path root) : state_(std::make_unique<State>()) {
  require_wiki(root);
  state_->root = std::move(root);
  for (auto& [slug, loaded] : load_pages(state_->root).by_slug) state_->pages[slug] = std::move(loaded.page);
  // index.md as read: the lines that link a page.
  static const std::regex entry("^- \\[\\[([^\\]|]+)");
  std::vector<std::string> slugs, lines;
  for (const auto& line : lines_of(read_file(wiki_dir(state_->root) / "index.md"))) {
    std::smatch m;
    if (!std::regex_search(line, m, entry)) continue;
    state_->index_line_of[m[1].str()] = line;
    const auto words = retrieval::bm25_tokens(line, "english");
    for (const auto& w : std::set<std::string>(words.begin(), words.end())) ++state_->line_frequency[w];
    slugs.push_back(m[1].str());
    lines.push_back(line);
  }
  state_->index = std::make_unique<LineIndex>(slugs, lines);
}

Navigator::~Navigator() = default;

QueryResult Navigator::query(const std::string& question, const QueryOptions& options) const {
  if (options.budget < 1 || options.index_hits < 1 || options.max_pages < 0) usage_error("query: budget and index hits must be >= 1, pages >= 0");
  QueryResult result;
  const auto hits = state_->index->search(question, options.index_hits);
  for (const auto& hit : hits) {
    result.index_lines.push_back(state_->index_line_of.at(hit.doc_id));
    result.text_read += result.index_lines.back() + "\n";
  }
  result.tokens_read = count_tokens(result.text_read);
  // What a reader of these lines would open: the entity and concept hits whose titles share a
  // distinctive word with the question (one in at most a tenth of the index lines: a name, not
  // "town"; the top hit when none does), in rank order, each followed by the
  // entity and concept pages it links to whose names share a word with the question (a link to
  // [[bramwick]] for a question about Bramwick); never more than max_pages pages, and a page the
  // budget cannot hold is skipped. Source pages are provenance: opened only as the top hit.
  std::set<std::string> question_words;
  for (const auto& w : retrieval::bm25_tokens(question, "english")) question_words.insert(w);
  const auto lines = static_cast<int64_t>(state_->index_line_of.size());
  const auto shares_a_word = [&](std::string words, bool distinctive) {
    std::replace(words.begin(), words.end(), '-', ' ');
    for (const auto& w : retrieval::bm25_tokens(words, "english")) {
      if (!question_words.count(w)) continue;
      const auto it = state_->line_frequency.find(w);
      if (!distinctive || (it != state_->line_frequency.end() && it->second * 10 <= lines)) return true;
    }
    return false;
  };
  std::vector<std::string> to_open;
  for (const auto& hit : hits) {
    const auto& page = state_->pages.at(hit.doc_id);
    if ((page.type == "entity" || page.type == "concept") && shares_a_word(page.title, /*distinctive=*/true)) to_open.push_back(hit.doc_id);
  }
  if (to_open.empty() && !hits.empty()) to_open.push_back(hits.front().doc_id);
  std::set<std::string> opened;
  const auto open = [&](const std::string& slug) {
    if (static_cast<int64_t>(result.pages_read.size()) >= options.max_pages || opened.count(slug)) return false;
    const auto it = state_->pages.find(slug);
    if (it == state_->pages.end()) return false;
    const auto text = render_page(it->second);
    const auto tokens = count_tokens(text);
    if (result.tokens_read + tokens > options.budget) return false;
    opened.insert(slug);
    result.pages_read.push_back(slug);
    result.text_read += "\n" + text;
    result.tokens_read += tokens;
    return true;
  };
  for (const auto& slug : to_open) {
    if (!open(slug)) continue;
    for (const auto& link : links_in(state_->pages.at(slug).body)) {
      const auto it = state_->pages.find(link);
      if (it != state_->pages.end() && (it->second.type == "entity" || it->second.type == "concept") && shares_a_word(link, /*distinctive=*/false)) open(link);
    }
  }
  if (const auto parsed = parse_question(question)) {
    auto answer = read_answer(*parsed, result.text_read);
    result.answer = std::move(answer.answer);
    result.evidence = std::move(answer.evidence);
  }
  return result;
}

QueryResult query(const fs::path& root, const std::string& question, const QueryOptions& options, bool save, const std::string& today) {
  auto result = Navigator(root).query(question, options);
  if (!save) return result;
  Page page;
  page.slug = slugify(question).substr(0, 80);
  page.type = "synthesis";
  page.title = question;
  page.summary = result.answer.empty() ? "no answer found in the pages read" : result.answer;
  std::set<std::string> sources;
  for (const auto& c : result.evidence) sources.insert(c.source);
  page.sources.assign(sources.begin(), sources.end());
  page.created = page.updated = today;
  std::string body = fmt::format("# {}\n\nAnswer: {}\n", question, page.summary);
  if (!result.evidence.empty()) {
    body += "\n## Evidence\n";
    for (const auto& c : result.evidence) body += claim_line(c) + "\n";
  }
  body += "\n## Pages read\n";
  for (const auto& slug : result.pages_read) body += fmt::format("- [[{}]]\n", slug);
  page.body = body;
  write_page(root, page);
  result.saved = page.slug;
  rebuild_index(root);
  append_log(root, today, "query", question, {fmt::format("answer: {}", page.summary), fmt::format("saved: [[{}]]", page.slug)});
  return result;
}

// ---- lint -------------------------------------------------------------------------------------

namespace {

// The sections of a page body by their "## " heading ("" before the first).
std::map<std::string, std::string> sections_of(const std::string& body) {
  std::map<std::string, std::string> out;
  std::string current;
  for (const auto& line : lines_of(body)) {
    if (line.starts_with("## ")) {
      current = line.substr(3);
      continue;
    }
    out[current] += line + "\n";
  }
  return out;
}

void check_citations(const fs::path& root, const LoadedPage& loaded, std::map<std::string, std::vector<std::string>>& raw_lines,
                     std::vector<LintProblem>& problems) {
  const auto& page = loaded.page;
  for (const auto& line : lines_of(page.body)) {
    const auto marker = provenance_of(line);
    if (!marker) {
      if (is_factual_line(line)) problems.push_back({"uncited_line", page.slug, line});
      continue;
    }
    if (!raw_lines.count(marker->source)) {
      const auto raw = raw_file_of(root, marker->source);
      if (!raw) {
        problems.push_back({"bad_citation", page.slug, fmt::format("{} cites {}, which is not in raw/", line, marker->source)});
        continue;
      }
      raw_lines[marker->source] = lines_of(read_file(*raw));
    }
    const auto& lines = raw_lines[marker->source];
    if (marker->first < 1 || marker->last < marker->first || marker->last > static_cast<int64_t>(lines.size())) {
      problems.push_back({"bad_citation", page.slug, fmt::format("{}: {} has {} lines", line, marker->source, lines.size())});
      continue;
    }
    const auto claims = extract_page_claims(line);
    if (claims.empty()) continue;
    std::string cited;
    for (auto n = marker->first; n <= marker->last; ++n) cited += lines[static_cast<size_t>(n - 1)] + "\n";
    if (cited.find(claims[0].value) == std::string::npos || cited.find(claims[0].entity) == std::string::npos)
      problems.push_back({"bad_citation", page.slug, fmt::format("{}: the cited lines do not state it", line)});
  }
}

}  // namespace

LintReport lint(const fs::path& root, bool fix, const std::string& today) {
  require_wiki(root);
  LintReport report;
  auto pages = load_pages(root);
  if (fix) {
    // Re-derive entity pages from their claims, then concept pages from the entity pages.
    std::map<std::string, std::vector<Claim>> claims_by_entity;
    for (const auto& [slug, loaded] : pages.by_slug)
      if (loaded.page.type == "entity") {
        auto claims = entity_claims(loaded.page);
        if (claims.empty()) continue;  // nothing to derive it from: left for the report
        const auto page = render_entity(claims.front().entity, claims);
        if (page.slug == slug && write_page(root, page) > 0) ++report.fixed;
        claims_by_entity[claims.front().entity] = std::move(claims);
      }
    std::set<std::pair<Attribute, std::string>> concepts;
    for (const auto& [entity, claims] : claims_by_entity)
      for (const auto& c : claims)
        if (is_concept_attribute(c.attribute)) concepts.insert({c.attribute, c.value});
    for (const auto& [attribute, value] : concepts)
      if (write_page(root, render_concept(attribute, value, claims_by_entity)) > 0) ++report.fixed;
    if (rebuild_index(root)) ++report.fixed;
    pages = load_pages(root);
  }
  report.problems = pages.problems;
  report.pages = static_cast<int64_t>(pages.by_slug.size());
  auto& problems = report.problems;

  std::map<std::string, int64_t> inbound;
  std::map<std::string, std::vector<std::string>> slugs_of_title;
  std::map<std::string, std::vector<std::string>> raw_lines;
  for (const auto& [slug, loaded] : pages.by_slug) {
    const auto& page = loaded.page;
    std::set<std::string> targets;
    for (const auto& link : links_in(page.body)) {
      if (!pages.by_slug.count(link)) problems.push_back({"broken_link", slug, fmt::format("[[{}]] names no page", link)});
      else if (link != slug) targets.insert(link);
    }
    for (const auto& t : targets) ++inbound[t];
    if (page.type != "source") slugs_of_title[page.title].push_back(slug);  // two sources may share a headline
    if (page.summary.empty()) problems.push_back({"missing_summary", slug, "the front matter has no summary"});
    bool content = false;
    for (const auto& line : lines_of(page.body))
      if (!line.starts_with("#") && line.find_first_not_of(" \t\r") != std::string::npos) content = true;
    if (!content) problems.push_back({"empty_page", slug, "the body has no content besides headings"});
    check_citations(root, loaded, raw_lines, problems);
  }
  for (const auto& [title, slugs] : slugs_of_title)
    if (slugs.size() > 1)
      for (const auto& s : slugs) problems.push_back({"duplicate_title", s, fmt::format("'{}' is also the title of {} other page(s)", title, slugs.size() - 1)});
  // Orphans: entity and concept pages no other page links to. Source pages (the roots of
  // provenance, linked from the log) and syntheses (reached through the index) need no inbound link.
  for (const auto& [slug, loaded] : pages.by_slug)
    if ((loaded.page.type == "entity" || loaded.page.type == "concept") && inbound[slug] == 0)
      problems.push_back({"orphan", slug, "no page links to it"});

  // Contradictions (entity pages: one report per entity, attribute and date with two values)
  // and stale claims (a current value with a newer claim beside it; a synthesis citing a value
  // the entity's page has superseded).
  std::map<std::string, std::vector<Claim>> claims_by_slug;
  for (const auto& [slug, loaded] : pages.by_slug)
    if (loaded.page.type == "entity") claims_by_slug[slug] = entity_claims(loaded.page);
  for (const auto& [slug, claims] : claims_by_slug) {
    std::map<std::pair<Attribute, std::string>, std::set<std::string>> values_on;
    for (const auto& c : claims) values_on[{c.attribute, c.date}].insert(c.value);
    for (const auto& [key, values] : values_on)
      if (values.size() > 1) {
        std::string list;
        for (const auto& v : values) list += (list.empty() ? "" : " vs ") + v;
        problems.push_back({"contradiction", slug, fmt::format("{} on {}: {}", to_string(key.first), key.second, list)});
      }
    const auto current = extract_page_claims(sections_of(pages.by_slug.at(slug).page.body)["Current"]);
    for (const auto& c : current)
      for (const auto& other : claims)
        if (other.attribute == c.attribute && other.date > c.date) {
          problems.push_back({"stale_claim", slug, fmt::format("{} is shown as current, but {} is newer", claim_line(c), claim_line(other))});
          break;
        }
  }
  for (const auto& [slug, loaded] : pages.by_slug) {
    if (loaded.page.type != "synthesis") continue;
    for (const auto& c : extract_page_claims(loaded.page.body)) {
      const auto it = claims_by_slug.find(slugify(c.entity));
      if (it == claims_by_slug.end()) continue;
      for (const auto& other : it->second)
        if (other.attribute == c.attribute && other.date > c.date && other.value != c.value) {
          problems.push_back({"stale_claim", slug, fmt::format("{} is superseded by {}", claim_line(c), claim_line(other))});
          break;
        }
    }
  }
  std::map<std::string, int64_t> by_kind;
  for (const auto& p : problems) ++by_kind[p.kind];
  std::vector<std::string> details;
  for (const auto& [kind, n] : by_kind) details.push_back(fmt::format("{}: {}", kind, n));
  if (fix) details.push_back(fmt::format("fixed: {} file(s) rewritten", report.fixed));
  append_log(root, today, "lint", fmt::format("{} problem{} in {} pages", problems.size(), problems.size() == 1 ? "" : "s", report.pages), details);
  return report;
}

int64_t wiki_tokens(const fs::path& root) {
  int64_t total = count_tokens(read_file(wiki_dir(root) / "index.md"));
  for (const auto& [slug, loaded] : load_pages(root).by_slug) total += count_tokens(render_page(loaded.page));
  return total;
}

}  // namespace garden::wiki
