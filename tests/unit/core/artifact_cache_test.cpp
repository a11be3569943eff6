// The artifact cache: built once and reused, rebuilt when the key or version changes or
// when an entry is partial or corrupt; every use recorded for reports.
#include "garden/core/artifact_cache.h"

#include <gtest/gtest.h>

#include "garden/core/files.h"
#include "test_files.h"

namespace garden {
namespace {

struct CountingBuilder {
  int builds = 0;
  ArtifactBuilder builder() {
    return [this](const std::filesystem::path& staged, const std::filesystem::path& final) {
      ++builds;
      write_file_atomic(staged / "model" / "weights.bin", "weights " + std::to_string(builds));
      write_file_atomic(staged / "where.txt", final.string());
    };
  }
};

TEST(ArtifactCache, BuildsOnceThenReuses) {
  testing::TempDir cache;
  CountingBuilder b;
  const ArtifactRecipe recipe{"toy", 1, {{"steps", 10}}};
  const size_t used_before = artifacts_used().size();
  const Artifact first = ensure_artifact(cache.path(), recipe, b.builder());
  EXPECT_TRUE(first.built);
  EXPECT_EQ(read_file(first.dir / "where.txt"), first.dir.string());  // the builder was told the final folder
  const Artifact second = ensure_artifact(cache.path(), recipe, b.builder());
  EXPECT_FALSE(second.built);
  EXPECT_EQ(second.dir, first.dir);
  EXPECT_EQ(b.builds, 1);
  ASSERT_EQ(artifacts_used().size(), used_before + 2);
  EXPECT_TRUE(artifacts_used()[used_before].built);
  EXPECT_FALSE(artifacts_used()[used_before + 1].built);
  // Nothing staged is left beside the entry.
  size_t entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(cache.path() / "toy")) entries += e.is_directory() ? 1 : 0;
  EXPECT_EQ(entries, 1u);
}

TEST(ArtifactCache, KeyAndVersionSelectTheEntry) {
  testing::TempDir cache;
  CountingBuilder b;
  const auto a = ensure_artifact(cache.path(), {"toy", 1, {{"steps", 10}}}, b.builder());
  const auto other_key = ensure_artifact(cache.path(), {"toy", 1, {{"steps", 11}}}, b.builder());
  const auto other_version = ensure_artifact(cache.path(), {"toy", 2, {{"steps", 10}}}, b.builder());
  EXPECT_NE(a.dir, other_key.dir);
  EXPECT_NE(a.dir, other_version.dir);
  EXPECT_EQ(b.builds, 3);
}

TEST(ArtifactCache, PartialOrCorruptEntriesAreRebuiltNeverUsed) {
  testing::TempDir cache;
  CountingBuilder b;
  const ArtifactRecipe recipe{"toy", 1, {{"steps", 10}}};
  const auto entry = ensure_artifact(cache.path(), recipe, b.builder()).dir;
  write_file_atomic(entry / "model" / "weights.bin", "weights X");  // same size, other bytes
  auto rebuilt = ensure_artifact(cache.path(), recipe, b.builder());
  EXPECT_TRUE(rebuilt.built);
  EXPECT_NE(rebuilt.note.find("model/weights.bin has another sha256"), std::string::npos) << rebuilt.note;
  EXPECT_EQ(read_file(entry / "model" / "weights.bin"), "weights 2");
  std::filesystem::remove(entry / "model" / "weights.bin");
  EXPECT_TRUE(ensure_artifact(cache.path(), recipe, b.builder()).built);
  std::filesystem::remove(entry / "artifact.json");  // as a build killed before its manifest
  rebuilt = ensure_artifact(cache.path(), recipe, b.builder());
  EXPECT_TRUE(rebuilt.built);
  EXPECT_NE(rebuilt.note.find("no manifest"), std::string::npos);
  EXPECT_EQ(b.builds, 4);
  EXPECT_FALSE(ensure_artifact(cache.path(), recipe, b.builder()).built);
}

TEST(ArtifactCache, AFailedBuildLeavesNoEntryAndNoStaging) {
  testing::TempDir cache;
  EXPECT_THROW(ensure_artifact(cache.path(), {"toy", 1, {}},
                               [](const std::filesystem::path& staged, const std::filesystem::path&) {
                                 write_file_atomic(staged / "half", "x");
                                 throw Error("out of memory");
                               }),
               Error);
  EXPECT_TRUE(std::filesystem::is_empty(cache.path() / "toy"));
}

}  // namespace
}  // namespace garden
