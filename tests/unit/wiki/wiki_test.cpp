#include "garden/wiki/wiki.h"

#include <gtest/gtest.h>

#include <map>
#include <regex>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/wiki/rag.h"
#include "test_files.h"

namespace garden::wiki {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

const char* const kToday = "2026-01-02";

// Every file under `dir` with its bytes.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out[fs::relative(e.path(), dir).string()] = read_file(e.path());
  return out;
}

fs::path write_source(const fs::path& dir, const std::string& name, const std::string& text) {
  fs::create_directories(dir);
  write_file_atomic(dir / name, text);
  return dir / name;
}

struct WikiFixture : ::testing::Test {
  TempDir tmp;
  fs::path root = tmp.path() / "w", in = tmp.path() / "in";
  void SetUp() override { init_wiki(root); }
  IngestReport add(const std::string& name, const std::string& text) { return ingest(root, write_source(in, name, text), Backend{}, kToday); }
  Page page(const std::string& type, const std::string& slug) {
    return parse_page(read_file(root / "wiki" / folder_of_type(type) / (slug + ".md")), slug, slug);
  }
};

const char* const k2020 = "2020-05-01 — Regional bulletin: Bramwick\nBramwick elected Ada Morrow as mayor.\nBramwick lies on the river Oska.\n";
const char* const k2022 = "2022-07-09 — Regional bulletin: Bramwick\nHugo Hale became mayor of Bramwick.\nThe weather was mild.\n";

TEST_F(WikiFixture, InitCreatesTheLayoutAndRefusesToOverwrite) {
  for (const auto* p : {"raw", "wiki/sources", "wiki/entities", "wiki/concepts", "wiki/syntheses", "wiki/index.md", "wiki/log.md", "WIKI.md"})
    EXPECT_TRUE(fs::exists(root / p)) << p;
  EXPECT_THROW(init_wiki(root), Error);
  write_source(tmp.path() / "other", "keep.txt", "mine");
  EXPECT_THROW(init_wiki(tmp.path() / "other"), Error);
  EXPECT_EQ(read_file(tmp.path() / "other" / "keep.txt"), "mine");
  EXPECT_THROW(ingest(tmp.path() / "other", tmp.path() / "other" / "keep.txt", Backend{}, kToday), Error);
}

TEST_F(WikiFixture, SupersessionKeepsTheNewestAndIsIndependentOfOrder) {
  add("a.md", k2020);
  add("b.md", k2022);
  const auto forward = read_file(root / "wiki/entities/bramwick.md");
  EXPECT_NE(forward.find("## Current\n- mayor of Bramwick: Hugo Hale (2022-07-09) ^[b:L2-L2]"), std::string::npos) << forward;
  EXPECT_NE(forward.find("## History\n- mayor of Bramwick: Ada Morrow (2020-05-01, superseded) ^[a:L2-L2]"), std::string::npos) << forward;
  // The 2020 source ingested last does not revert the mayor.
  TempDir other;
  const auto root2 = other.path() / "w";
  init_wiki(root2);
  ingest(root2, write_source(in, "b.md", k2022), Backend{}, kToday);
  const auto report = ingest(root2, write_source(in, "a.md", k2020), Backend{}, kToday);
  EXPECT_EQ(report.superseded, 0);
  EXPECT_EQ(read_file(root2 / "wiki/entities/bramwick.md"), forward);
  EXPECT_EQ(read_file(root2 / "wiki/concepts/river-oska.md"), read_file(root / "wiki/concepts/river-oska.md"));
}

TEST_F(WikiFixture, SameDateConflictsAreFlaggedNotOverwritten) {
  add("a.md", k2020);
  const auto r = add("c.md", "2020-05-01 — Regional bulletin\nPaul Marsh became mayor of Bramwick.\n");
  EXPECT_EQ(r.conflicts, 1);
  const auto p = page("entity", "bramwick");
  EXPECT_EQ(p.confidence, "low");
  EXPECT_NE(p.body.find("## Conflicts\n- mayor of Bramwick: Ada Morrow (2020-05-01, conflict)"), std::string::npos) << p.body;
  EXPECT_NE(p.body.find("- mayor of Bramwick: Paul Marsh (2020-05-01, conflict)"), std::string::npos);
  EXPECT_NE(p.summary.find("(disputed)"), std::string::npos);
  const auto report = lint(root, false, kToday);
  int contradictions = 0;
  for (const auto& problem : report.problems) contradictions += problem.kind == "contradiction";
  EXPECT_EQ(contradictions, 1);
}

TEST_F(WikiFixture, ReingestingTheSameContentIsANoOp) {
  add("a.md", k2020);
  const auto before = snapshot(root);
  const auto again = add("copy-of-a.md", k2020);
  EXPECT_TRUE(again.unchanged);
  EXPECT_EQ(snapshot(root), before);
}

TEST_F(WikiFixture, AnIngestKilledAfterCopyingIsFinishedByTheNextOne) {
  // The raw copy exists, its page does not: the next ingest takes the copy over.
  write_source(root / "raw", "a.md", k2020);
  const auto r = add("a.md", k2020);
  EXPECT_EQ(r.source_id, "a");
  EXPECT_EQ(snapshot(root / "raw").size(), 1u);
  EXPECT_TRUE(fs::exists(root / "wiki/sources/a.md"));
  // Another source of the same name gets its own id.
  EXPECT_EQ(add("a.md", k2022).source_id, "a-2");
}

TEST_F(WikiFixture, RawIsImmutableAndTheLogOnlyGrows) {
  add("a.md", k2020);
  const auto raw_before = snapshot(root / "raw");
  std::string log = read_file(root / "wiki/log.md");
  const auto grew = [&] {
    const auto now = read_file(root / "wiki/log.md");
    EXPECT_EQ(now.substr(0, log.size()), log);  // old bytes are a prefix
    EXPECT_GT(now.size(), log.size());
    log = now;
  };
  add("b.md", k2022);
  grew();
  query(root, "Who is the current mayor of Bramwick?", {}, true, kToday);
  grew();
  lint(root, false, kToday);
  grew();
  lint(root, true, kToday);
  grew();
  auto raw_after = snapshot(root / "raw");
  raw_after.erase("b.md");
  EXPECT_EQ(raw_after, raw_before);
  const std::regex heading("^## \\[\\d{4}-\\d{2}-\\d{2}\\] (ingest|query|lint) \\| .+$");
  int headings = 0;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);)
    if (line.starts_with("## ")) {
      EXPECT_TRUE(std::regex_match(line, heading)) << line;
      ++headings;
    }
  EXPECT_EQ(headings, 5);
}

TEST_F(WikiFixture, TheIndexListsEveryPageOnceAndLinksResolve) {
  add("a.md", k2020);
  add("b.md", k2022);
  add("notes.txt", "Some notes without any dated claim.\nA second line.\n");
  const auto index = read_file(root / "wiki/index.md");
  std::map<std::string, int> listed;
  for (const auto& slug : links_in(index)) ++listed[slug];
  std::set<std::string> pages;
  for (const auto& e : fs::recursive_directory_iterator(root / "wiki"))
    if (e.is_regular_file() && e.path().parent_path() != root / "wiki") pages.insert(e.path().stem().string());
  EXPECT_EQ(listed.size(), pages.size());
  for (const auto& [slug, n] : listed) {
    EXPECT_EQ(n, 1) << slug;
    EXPECT_TRUE(pages.count(slug)) << slug;
  }
  // A source without claims keeps cited excerpts; a clean wiki lints clean.
  EXPECT_NE(read_file(root / "wiki/sources/notes.md").find("> Some notes without any dated claim. ^[notes:L1-L1]"), std::string::npos);
  const auto report = lint(root, false, kToday);
  for (const auto& p : report.problems) ADD_FAILURE() << p.kind << " " << p.page << " " << p.detail;
}

TEST_F(WikiFixture, LintFindsBrokenLinksOrphansUncitedLinesAndTampering) {
  add("a.md", k2020);
  add("b.md", k2022);
  // Delete the concept page: the entity's link to it breaks.
  fs::remove(root / "wiki/concepts/river-oska.md");
  // Tamper with a citation and add an uncited line.
  auto text = read_file(root / "wiki/entities/bramwick.md");
  text = std::regex_replace(text, std::regex("Hugo Hale \\(2022-07-09\\) \\^\\[b:L2-L2\\]"), "Hugo Hale (2022-07-09) ^[b:L3-L3]");
  text += "- The town is famous for its cheese.\n";
  write_file_atomic(root / "wiki/entities/bramwick.md", text);
  // A page nobody links to, with a citation to a source that does not exist.
  write_file_atomic(root / "wiki/concepts/lonely.md",
                    "---\ntitle: Lonely\ntype: concept\nsummary: \nsources: []\ncreated: x\nupdated: x\n---\n# Lonely\n- mayor of Nowhere: X (2020-01-01) ^[gone:L1-L1]\n");
  std::map<std::string, int> kinds;
  for (const auto& p : lint(root, false, kToday).problems) ++kinds[p.kind];
  EXPECT_EQ(kinds["broken_link"], 1);
  EXPECT_EQ(kinds["orphan"], 1);
  EXPECT_EQ(kinds["uncited_line"], 1);
  EXPECT_EQ(kinds["bad_citation"], 2);  // the tampered line and the missing source
  EXPECT_EQ(kinds["missing_summary"], 1);
}

TEST_F(WikiFixture, LintFindsStaleClaimsAndFixRederivesPages) {
  add("a.md", k2020);
  add("b.md", k2022);
  // A hand edit shows the old mayor as current too; a synthesis cites the superseded value.
  auto text = read_file(root / "wiki/entities/bramwick.md");
  text = std::regex_replace(text, std::regex("## Current\\n"), "## Current\n- mayor of Bramwick: Ada Morrow (2020-05-01) ^[a:L2-L2]\n");
  write_file_atomic(root / "wiki/entities/bramwick.md", text);
  write_file_atomic(root / "wiki/syntheses/old-answer.md",
                    "---\ntitle: Old answer\ntype: synthesis\nsummary: Ada Morrow\nsources: [a]\ncreated: x\nupdated: x\n---\n# Old\n"
                    "- mayor of Bramwick: Ada Morrow (2020-05-01) ^[a:L2-L2]\n");
  const auto stale = [&](bool fix) {
    std::vector<std::string> pages;
    for (const auto& p : lint(root, fix, kToday).problems)
      if (p.kind == "stale_claim") pages.push_back(p.page);
    return pages;
  };
  EXPECT_EQ(stale(false), (std::vector<std::string>{"bramwick", "old-answer"}));
  // --fix re-derives the entity page from its claims; the synthesis is a record to revisit.
  EXPECT_EQ(stale(true), (std::vector<std::string>{"old-answer"}));
  EXPECT_NE(read_file(root / "wiki/entities/bramwick.md").find("## Current\n- mayor of Bramwick: Hugo Hale"), std::string::npos);
}

TEST_F(WikiFixture, QuerySaveWritesOnePageOneIndexLineAndOneLogHeading) {
  add("a.md", k2020);
  add("b.md", k2022);
  const auto pages_before = snapshot(root / "wiki").size();
  const auto index_before = links_in(read_file(root / "wiki/index.md")).size();
  const auto result = query(root, "Who is the current mayor of Bramwick?", {}, true, kToday);
  EXPECT_EQ(result.answer, "Hugo Hale");
  ASSERT_EQ(result.evidence.size(), 1u);
  EXPECT_EQ(result.evidence[0].source, "b");
  EXPECT_EQ(snapshot(root / "wiki").size(), pages_before + 1);
  EXPECT_EQ(links_in(read_file(root / "wiki/index.md")).size(), index_before + 1);
  EXPECT_TRUE(fs::exists(root / "wiki/syntheses" / (result.saved + ".md")));
}

TEST_F(WikiFixture, AnswerFromOnePageReadsFewerTokensThanTenChunks) {
  // Ten sources that mention Bramwick, one that states its mayor.
  for (int i = 0; i < 10; ++i)
    add(fmt::format("n{}.md", i), fmt::format("2021-0{}-0{} — Regional bulletin\nVisitors from Bramwick attended the spring fair.\n"
                                              "Residents of Bramwick debated who should be the next mayor.\nThe weather was mild for the season.\n"
                                              "Local markets reported steady trade.\nRail services ran on time all week.\n",
                                              1 + i % 9, 1 + i % 9));
  add("a.md", k2020);
  const auto wiki_answer = query(root, "Who is the current mayor of Bramwick?", {}, false, kToday);
  const RagBaseline rag(root / "raw", 128);
  const auto rag_answer = rag.query("Who is the current mayor of Bramwick?", 10);
  EXPECT_EQ(wiki_answer.answer, "Ada Morrow");
  EXPECT_EQ(wiki_answer.pages_read.front(), "bramwick");
  EXPECT_LT(wiki_answer.tokens_read, rag_answer.tokens_read);
  EXPECT_EQ(rag_answer.tokens_read, count_tokens(rag_answer.text_read));
  EXPECT_EQ(wiki_answer.tokens_read, count_tokens(wiki_answer.text_read));
}

}  // namespace
}  // namespace garden::wiki
