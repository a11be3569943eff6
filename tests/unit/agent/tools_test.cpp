// The workspace tools and the tool box (agent/tools.h): schema checks by type, enum and
// required arguments; output caps; notes created, refused when they exist, appended; note names
// that could leave the notes folder refused; grep's match limit; offloaded results read back.
#include "garden/agent/tools.h"

#include <gtest/gtest.h>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/retrieval/bm25.h"
#include "test_files.h"

namespace garden::agent {
namespace {

TEST(AgentTools, SchemaMismatchNamesTheArgument) {
  const Json schema = Json::parse(
      R"({"type":"object","properties":{"q":{"type":"string"},"k":{"type":"integer"},"mode":{"type":"string","enum":["a","b"]}},"required":["q"]})");
  EXPECT_EQ(schema_mismatch(schema, Json{{"q", "x"}, {"k", 3}}), "");
  EXPECT_EQ(schema_mismatch(schema, Json{{"k", 3}}), "missing required argument 'q'");
  EXPECT_EQ(schema_mismatch(schema, Json{{"q", "x"}, {"k", "3"}}), "argument 'k' must be of type integer");
  EXPECT_EQ(schema_mismatch(schema, Json{{"q", "x"}, {"z", 1}}), "unknown argument 'z'");
  EXPECT_EQ(schema_mismatch(schema, Json{{"q", "x"}, {"mode", "c"}}), "argument 'mode' must be one of [\"a\",\"b\"]");
  EXPECT_EQ(schema_mismatch(schema, Json::array()), "arguments must be a JSON object");
}

TEST(AgentTools, NotesOutputCapsGrepLimitsAndRefs) {
  testing::TempDir dir;
  const auto root = dir.path();
  std::string many;
  for (int i = 0; i < 100; ++i) many += "line " + std::to_string(i) + " match\n";
  write_file_atomic(root / "big.txt", many);
  RefStore refs;
  const std::string id = refs.put("the offloaded result");
  ToolBox box;
  add_workspace_tools(box, root, refs);
  EXPECT_THROW(add_workspace_tools(box, root, refs), Error);  // registered twice
  EXPECT_FALSE(box.run("write_note", {{"name", "n.md"}, {"content", "a"}}).error);
  EXPECT_TRUE(box.run("write_note", {{"name", "n.md"}, {"content", "b"}}).error);
  EXPECT_FALSE(box.run("write_note", {{"name", "n.md"}, {"content", "b"}, {"mode", "append"}}).error);
  EXPECT_EQ(box.run("read_file", {{"path", "notes/n.md"}}).content, "1: ab\n");
  for (const std::string bad : {"../escape", "a/b", ".hidden", ""}) EXPECT_TRUE(box.run("write_note", {{"name", bad}, {"content", "x"}}).error) << bad;
  const auto grep = box.run("grep", {{"pattern", "match"}, {"max_matches", 3}});
  EXPECT_NE(grep.content.find("[stopped at 3 matches]"), std::string::npos);
  EXPECT_EQ(box.run("read_ref", {{"id", id}}).content, "the offloaded result");
  // read_file's cap is 8000 bytes; the rest is cut with a note.
  std::string long_line(20000, 'x');
  write_file_atomic(root / "long.txt", long_line);
  const auto capped = box.run("read_file", {{"path", "long.txt"}});
  EXPECT_LT(capped.content.size(), 8100u);
  EXPECT_NE(capped.content.find("more bytes cut"), std::string::npos);
  EXPECT_EQ(box.schemas().size(), 4u);
}

TEST(AgentTools, ANotesFolderThatIsASymlinkOutOfTheWorkspaceIsRefused) {
  testing::TempDir dir;
  const auto root = dir.path() / "ws";
  std::filesystem::create_directories(root);
  std::filesystem::create_directories(dir.path() / "elsewhere");
  std::filesystem::create_directory_symlink(dir.path() / "elsewhere", root / "notes");
  RefStore refs;
  ToolBox box;
  add_workspace_tools(box, root, refs);
  const auto r = box.run("write_note", {{"name", "n.md"}, {"content", "x"}});
  EXPECT_TRUE(r.error);
  EXPECT_NE(r.content.find("outside the workspace"), std::string::npos) << r.content;
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "elsewhere" / "n.md"));
}

TEST(AgentTools, SearchReturnsTheTopDocumentsWithTheirTextOrNamesTheIndexes) {
  testing::TempDir dir;
  write_file_atomic(dir.path() / "c" / "corpus.jsonl",
                    "{\"_id\": \"ash\", \"text\": \"Ashford lies on the river Wey\"}\n{\"_id\": \"bel\", \"text\": \"Belton has a mayor\"}\n");
  write_file_atomic(dir.path() / "c" / "queries.jsonl", "{\"_id\": \"q\", \"text\": \"river\"}\n");
  write_file_atomic(dir.path() / "c" / "qrels" / "test.tsv", "query-id\tcorpus-id\tscore\nq\tash\t1\n");
  retrieval::build_bm25_index(dir.path() / "c", dir.path() / "idx", {}, false);
  ToolBox box;
  add_search_tool(box, {{"towns", dir.path() / "idx"}});
  const auto hits = box.run("search", {{"query", "river Wey"}, {"k", 3}});
  ASSERT_FALSE(hits.error) << hits.content;
  EXPECT_EQ(hits.content.rfind("1. ash (", 0), 0u) << hits.content;
  EXPECT_NE(hits.content.find("Ashford lies on the river Wey"), std::string::npos);
  EXPECT_EQ(hits.content.find("bel"), std::string::npos);  // no shared word
  const auto unknown = box.run("search", {{"index", "rivers"}, {"query", "x"}});
  EXPECT_TRUE(unknown.error);
  EXPECT_NE(unknown.content.find("the indexes are: towns"), std::string::npos);
}

}  // namespace
}  // namespace garden::agent
