// claim_output_dir: a command writes only into a new or empty folder, or into its own
// earlier output; another's files are refused and left untouched. Replacing a claimed folder
// keeps the claim, and an output may not be or hold an input. Replacement leaves a complete
// output and no staging; staging left by a dead process is removed on the next run.
#include "garden/core/files.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

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

// A pid no process has: a child that has exited and been reaped.
pid_t dead_pid() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);
  return child;
}

std::vector<std::string> names_in(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// Killed while writing its marker, a run leaves a folder holding only the marker's staging:
// the next run claims it (a live process's staging is still refused).
TEST(ClaimOutputDir, ClaimsAFolderHoldingOnlyADeadRunsMarkerStaging) {
  testing::TempDir tmp;
  write_file_atomic(tmp.path() / "out" / (".garden-output.tmp-" + std::to_string(dead_pid()) + "-0"), "garden lm train\n");
  claim_output_dir(tmp.path() / "out", "garden lm train");
  EXPECT_EQ(names_in(tmp.path() / "out"), std::vector<std::string>{".garden-output"});
  write_file_atomic(tmp.path() / "busy" / (".garden-output.tmp-" + std::to_string(::getppid()) + "-0"), "x");
  testing::expect_error_containing([&] { claim_output_dir(tmp.path() / "busy", "garden lm train"); }, "did not write");
}

TEST(WriteFileAtomic, ReplacesTheFileAndLeavesNoStaging) {
  testing::TempDir tmp;
  write_file_atomic(tmp.path() / "a.json", "old");
  write_file_atomic(tmp.path() / "a.json", "new");
  EXPECT_EQ(read_file(tmp.path() / "a.json"), "new");
  EXPECT_EQ(names_in(tmp.path()), std::vector<std::string>{"a.json"});
}

// The old folder is swapped out whole: nothing of it survives in the new one, and neither the
// staging folder nor the old one is left beside it.
TEST(ReplaceDirAtomic, ReplacesANonEmptyFolderAndLeavesNoStaging) {
  testing::TempDir tmp;
  write_file_atomic(tmp.path() / "idx" / "old-only.txt", "old");
  write_file_atomic(tmp.path() / "idx" / "sub" / "deep.txt", "old");
  const auto staged = staging_path(tmp.path() / "idx");
  write_file_atomic(staged / "manifest.json", "new");
  replace_dir_atomic(staged, tmp.path() / "idx");
  EXPECT_EQ(names_in(tmp.path()), std::vector<std::string>{"idx"});
  EXPECT_EQ(names_in(tmp.path() / "idx"), std::vector<std::string>{"manifest.json"});
  EXPECT_EQ(read_file(tmp.path() / "idx" / "manifest.json"), "new");
}

TEST(RemoveDeadStaging, RemovesOnlyTheDeadStagingOfThatPath) {
  testing::TempDir tmp;
  const auto dead = std::to_string(dead_pid()), alive = std::to_string(::getppid());
  for (const auto& name : {"idx.tmp-" + dead + "-0", "idx.json.tmp-" + dead + "-3", "idx.tmp-" + alive + "-1",
                           "idx2.tmp-" + dead + "-0", "idx.tmp-" + dead + "-0x", "idx.tmp-" + dead})
    write_file_atomic(tmp.path() / name / "f", "x");
  write_file_atomic(tmp.path() / "idx" / "manifest.json", "current");
  remove_dead_staging(tmp.path() / "idx");
  remove_dead_staging(tmp.path() / "idx.json");
  // names_in sorts; so must the expectation, since the two pids' digits decide the order.
  std::vector<std::string> kept{"idx", "idx.tmp-" + alive + "-1", "idx.tmp-" + dead, "idx.tmp-" + dead + "-0x",
                                "idx2.tmp-" + dead + "-0"};
  std::sort(kept.begin(), kept.end());
  EXPECT_EQ(names_in(tmp.path()), kept);
  EXPECT_EQ(read_file(tmp.path() / "idx" / "manifest.json"), "current");
}

// Writing an output again (staging_path, claim_output_dir) first clears what a killed
// earlier writer left.
TEST(RemoveDeadStaging, RunsBeforeEachNewStagingAndClaim) {
  testing::TempDir tmp;
  const auto dead = std::to_string(dead_pid());
  write_file_atomic(tmp.path() / ("results.json.tmp-" + dead + "-0"), "partial");
  write_file_atomic(tmp.path() / "results.json", "{}");
  EXPECT_EQ(names_in(tmp.path()), std::vector<std::string>{"results.json"});
  claim_output_dir(tmp.path() / "idx", "garden index build");
  write_file_atomic(tmp.path() / ("idx.tmp-" + dead + "-1") / "index.faiss", "partial");
  claim_output_dir(tmp.path() / "idx", "garden index build");
  EXPECT_EQ(names_in(tmp.path()), (std::vector<std::string>{"idx", "results.json"}));
}

// Where the folders cannot be exchanged in one step, a crash between the two renames leaves
// the old folder aside and none at the path; the next run puts the old one back, and removes
// an old one left after the new one was in place.
TEST(RemoveDeadStaging, PutsBackAnOldFolderWhenThePathIsMissing) {
  testing::TempDir tmp;
  const auto dead = std::to_string(dead_pid());
  write_file_atomic(tmp.path() / ("idx.old-" + dead + "-0") / ".garden-output", "garden index build\n");
  write_file_atomic(tmp.path() / ("idx.old-" + dead + "-0") / "manifest.json", "old");
  claim_output_dir(tmp.path() / "idx", "garden index build");
  EXPECT_EQ(names_in(tmp.path()), std::vector<std::string>{"idx"});
  EXPECT_EQ(read_file(tmp.path() / "idx" / "manifest.json"), "old");
  write_file_atomic(tmp.path() / ("idx.old-" + dead + "-1") / "manifest.json", "older");
  remove_dead_staging(tmp.path() / "idx");
  EXPECT_EQ(names_in(tmp.path()), std::vector<std::string>{"idx"});
  EXPECT_EQ(read_file(tmp.path() / "idx" / "manifest.json"), "old");
}

TEST(RefuseForeignOutputFile, AcceptsANewPathOrItsOwnFileAndRefusesAnyOther) {
  testing::TempDir dir;
  const auto ours = [](const fs::path& file) {
    if (read_file(file) == "broken") throw Error("unreadable");
    return read_file(file) == "ours";
  };
  refuse_foreign_output_file(dir.path() / "new.txt", "an earlier x", ours);
  write_file_atomic(dir.path() / "mine.txt", "ours");
  refuse_foreign_output_file(dir.path() / "mine.txt", "an earlier x", ours);
  for (const std::string content : {"theirs", "broken"}) {
    write_file_atomic(dir.path() / "other.txt", content);
    testing::expect_error_containing([&] { refuse_foreign_output_file(dir.path() / "other.txt", "an earlier x", ours); },
                                     "other.txt exists and is not an earlier x: choose another path");
    EXPECT_EQ(read_file(dir.path() / "other.txt"), content);
  }
  testing::expect_error_containing([&] { refuse_foreign_output_file(dir.path(), "an earlier x", ours); }, "is not an earlier x");
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
