// claim_output_dir: a command writes only into a new or empty folder, or into its own
// earlier output; another's files are refused and left untouched. Replacing a claimed folder
// keeps the claim, and an output may not be or hold an input.
#include "garden/core/files.h"

#include <gtest/gtest.h>

#include "garden/core/error.h"
#include "test_files.h"

namespace garden {
namespace {

TEST(ClaimOutputDir, CreatesNewAndClaimsEmptyFolders) {
  testing::TempDir tmp;
  claim_output_dir(tmp.path() / "new" / "deeper", "garden repro limit");
  EXPECT_EQ(read_file(tmp.path() / "new" / "deeper" / ".garden-output"), "garden repro limit\n");
  std::filesystem::create_directories(tmp.path() / "empty");
  claim_output_dir(tmp.path() / "empty", "garden repro");
  EXPECT_TRUE(std::filesystem::exists(tmp.path() / "empty" / ".garden-output"));
}

TEST(ClaimOutputDir, AcceptsItsOwnEarlierOutput) {
  testing::TempDir tmp;
  claim_output_dir(tmp.path() / "out", "garden repro limit");
  write_file_atomic(tmp.path() / "out" / "results.json", "{}");
  claim_output_dir(tmp.path() / "out", "garden repro limit");
  EXPECT_EQ(read_file(tmp.path() / "out" / "results.json"), "{}");
}

TEST(ClaimOutputDir, RefusesOtherFilesAndOtherOwnersWithoutTouchingThem) {
  testing::TempDir tmp;
  write_file_atomic(tmp.path() / "mine" / "notes.txt", "keep me");
  testing::expect_error_containing([&] { claim_output_dir(tmp.path() / "mine", "garden repro"); }, "did not write");
  EXPECT_EQ(read_file(tmp.path() / "mine" / "notes.txt"), "keep me");
  EXPECT_FALSE(std::filesystem::exists(tmp.path() / "mine" / ".garden-output"));
  claim_output_dir(tmp.path() / "other", "garden repro limit");
  testing::expect_error_containing([&] { claim_output_dir(tmp.path() / "other", "garden repro llm2vec"); },
                                   "holds the output of 'garden repro limit'");
  write_file_atomic(tmp.path() / "file", "x");
  testing::expect_error_containing([&] { claim_output_dir(tmp.path() / "file", "garden repro"); }, "is a file");
}

// A claimed folder replaced by a staged one stays claimed, so the next run may replace it again.
TEST(ReplaceDirAtomic, KeepsTheTargetsClaim) {
  testing::TempDir tmp;
  claim_output_dir(tmp.path() / "idx", "garden index build");
  write_file_atomic(tmp.path() / "staged" / "manifest.json", "{}");
  replace_dir_atomic(tmp.path() / "staged", tmp.path() / "idx");
  EXPECT_EQ(read_file(tmp.path() / "idx" / ".garden-output"), "garden index build\n");
  claim_output_dir(tmp.path() / "idx", "garden index build");
  EXPECT_EQ(read_file(tmp.path() / "idx" / "manifest.json"), "{}");
}

TEST(RefuseOutputOverInput, RefusesTheInputAndAFolderAboveIt) {
  testing::TempDir tmp;
  std::filesystem::create_directories(tmp.path() / "c5");
  for (const auto& out : {tmp.path() / "c5", tmp.path() / "c5" / "", tmp.path(), tmp.path() / "c5" / ".." / "c5"})
    testing::expect_error_containing([&] { refuse_output_over_input(out, "--out", tmp.path() / "c5", "--corpus"); },
                                     "is or holds --corpus");
  refuse_output_over_input(tmp.path() / "c5" / "idx", "--out", tmp.path() / "c5", "--corpus");
  refuse_output_over_input(tmp.path() / "c5-idx", "--out", tmp.path() / "c5", "--corpus");
}

}  // namespace
}  // namespace garden
