// The LLM Wiki (llm-wiki.md): raw sources compiled into interlinked markdown pages.
//   <root>/raw/                     sources as ingested; never changed after
//   <root>/wiki/sources/<id>.md     one summary page per source (its claims, its entities)
//   <root>/wiki/entities/<slug>.md  one page per entity: current values, dated history,
//                                   same-date conflicts, sources
//   <root>/wiki/concepts/<slug>.md  one page per attribute value (a river, a twin town) listing
//                                   the entities that hold it now and held it before
//   <root>/wiki/syntheses/<slug>.md answers filed back by `query --save`
//   <root>/wiki/index.md            one line per page, by type; rebuilt by every operation
//   <root>/wiki/log.md              append-only: "## [YYYY-MM-DD] <op> | <title>" per operation
//   <root>/WIKI.md                  the schema: conventions a maintainer (human or model) follows
// Ingest resolves supersession from the claims' dates, so the order sources arrive in does not
// matter: the newest dated claim is current, older ones are history, and two values on one date
// are flagged as a conflict rather than one overwriting the other.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "garden/agent/loop.h"
#include "garden/wiki/claims.h"
#include "garden/wiki/page.h"

namespace garden::wiki {

// Creates the layout in `root` (which must be absent or empty); refuses anything else.
void init_wiki(const std::filesystem::path& root);
// An error naming `root` unless it holds a wiki (WIKI.md, raw/, wiki/index.md, wiki/log.md).
void require_wiki(const std::filesystem::path& root);

// Where an ingest's claims come from: the rule-based extractor (the evolving-facts prose
// templates; deterministic), or a chat model asked to list claims as
// "entity | attribute | value | line" (attributes mayor, river, twin town, population), whose
// claims are kept only when the cited line of the source contains the value.
struct Backend {
  agent::ChatModel* model = nullptr;  // null: the extractor
};

struct IngestReport {
  std::string source_id;      // empty for a no-op
  bool unchanged = false;     // the same content was ingested before
  std::vector<std::string> created, updated;  // page slugs
  int64_t claims = 0, rejected_claims = 0;    // rejected: the model's claims the source does not support
  int64_t superseded = 0, conflicts = 0;      // claims that left "current" this ingest; new same-date conflicts
  int64_t tokens_read = 0, tokens_written = 0;  // the source and the pages read; pages written
};

// `today`: the date of the log heading (YYYY-MM-DD; the CLI passes the clock's).
IngestReport ingest(const std::filesystem::path& root, const std::filesystem::path& file, const Backend& backend, const std::string& today);

struct QueryOptions {
  int64_t budget = 800;      // tokens of index lines and pages read, at most
  int64_t index_hits = 5;    // index lines shown (BM25 over index.md)
  int64_t max_pages = 4;     // pages opened: the best hits, each with the pages it links to that the question names
};

struct QueryResult {
  std::string answer;  // the template reader's; "" when it does not know the question or the pages do not say
  std::vector<Claim> evidence;
  std::vector<std::string> index_lines, pages_read;  // pages_read: slugs in reading order
  std::string text_read;  // the index lines and pages, as the reader saw them
  int64_t tokens_read = 0;
  std::string saved;  // the synthesis page's slug with --save
};

// Index-first navigation over one wiki; the BM25 index of index.md is built once, so many
// questions can be asked of an unchanging wiki.
class Navigator {
 public:
  explicit Navigator(std::filesystem::path root);
  ~Navigator();
  QueryResult query(const std::string& question, const QueryOptions& options) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// A query that can file its answer back: `save` writes one synthesis page (the question as
// title, the answer as summary, the evidence lines), one index line and one log heading.
QueryResult query(const std::filesystem::path& root, const std::string& question, const QueryOptions& options, bool save,
                  const std::string& today);

struct LintProblem {
  std::string kind;  // broken_link | orphan | duplicate_title | empty_page | missing_summary | uncited_line |
                     // bad_citation | contradiction | stale_claim | bad_page
  std::string page;  // slug ("" for the wiki as a whole)
  std::string detail;
};
struct LintReport {
  std::vector<LintProblem> problems;
  int64_t pages = 0, fixed = 0;
};
// `fix`: rebuilds index.md and re-derives every entity and concept page from its own claim
// lines (current values, history, conflicts, summaries); what remains is reported.
LintReport lint(const std::filesystem::path& root, bool fix, const std::string& today);

// The tokens of every page and index.md (for the compile cost of a wiki).
int64_t wiki_tokens(const std::filesystem::path& root);

}  // namespace garden::wiki
