#include "garden/text/corpus.h"

#include <gtest/gtest.h>

#include "garden/core/files.h"
#include "test_files.h"

namespace garden::text {
namespace {

TEST(Corpus, PlainTextByLineOrWholeFile) {
  testing::TempDir dir;
  write_file_atomic(dir.path() / "a.txt", "one\n\ntwo\r\nthree");
  EXPECT_EQ(read_text_documents(dir.path() / "a.txt", TextUnit::line), (std::vector<std::string>{"one", "two", "three"}));
  EXPECT_EQ(read_text_documents(dir.path() / "a.txt", TextUnit::file).size(), 1u);
}

TEST(Corpus, JsonlField) {
  testing::TempDir dir;
  write_file_atomic(dir.path() / "c.jsonl", "{\"_id\": \"1\", \"text\": \"alpha\"}\n\n{\"_id\": \"2\", \"text\": \"beta\"}\n");
  EXPECT_EQ(read_documents(dir.path() / "c.jsonl"), (std::vector<std::string>{"alpha", "beta"}));
}

TEST(Corpus, MalformedJsonlNamesFileAndLine) {
  testing::TempDir dir;
  write_file_atomic(dir.path() / "c.jsonl", "{\"text\": \"ok\"}\n{\"text\": \"unterminated}\n");
  testing::expect_error_containing([&] { read_jsonl_field(dir.path() / "c.jsonl", "text"); }, "c.jsonl:2: not a valid JSON line");
  write_file_atomic(dir.path() / "d.jsonl", "{\"body\": \"ok\"}\n");
  testing::expect_error_containing([&] { read_jsonl_field(dir.path() / "d.jsonl", "text"); }, "d.jsonl:1: no string field 'text'");
  testing::expect_error_containing([&] { read_documents(dir.path() / "missing.txt"); }, "missing.txt: no such file");
}

}  // namespace
}  // namespace garden::text
