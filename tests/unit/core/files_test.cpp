// claim_output_dir: a command writes only into a new or empty folder, or into its own
// earlier output; another's files are refused and left untouched.
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

}  // namespace
}  // namespace garden
