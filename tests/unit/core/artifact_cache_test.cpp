// The artifact cache: built once and reused, rebuilt when the key or version changes or
// when an entry is partial or corrupt; every use recorded for reports.
#include "garden/core/artifact_cache.h"

#include <gtest/gtest.h>

#include "garden/core/files.h"
#include "garden/core/json.h"
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

// A shipped copy (here with other weights, as base v2 ships bf16 ones) is installed into an
// empty cache instead of a build when it is intact and has the same key; a broken copy, a
// copy of another key, or --rebuild builds.
TEST(ShippedArtifact, IsInstalledWhenIntactWithTheSameKeyAndBuiltOtherwise) {
  testing::TempDir first_cache, shipped;
  CountingBuilder b;
  const ArtifactRecipe recipe{"toy", 1, {{"steps", 10}}};
  const Artifact built = ensure_artifact(first_cache.path(), recipe, b.builder());
  const auto copy = ship_artifact(built.dir, shipped.path(), [](const std::filesystem::path& staged) {
    write_file_atomic(staged / "model" / "weights.bin", "weights, rounded");
  });
  EXPECT_EQ(copy, shipped.path() / "toy" / built.dir.filename());

  testing::TempDir cache;
  const Artifact installed = ensure_artifact(cache.path(), recipe, b.builder(), false, shipped.path());
  EXPECT_TRUE(installed.shipped);
  EXPECT_FALSE(installed.built);
  EXPECT_EQ(b.builds, 1);
  EXPECT_EQ(read_file(installed.dir / "model" / "weights.bin"), "weights, rounded");
  const Artifact reused = ensure_artifact(cache.path(), recipe, b.builder(), false, shipped.path());
  EXPECT_FALSE(reused.shipped || reused.built);  // now an ordinary cache entry

  EXPECT_TRUE(ensure_artifact(cache.path(), recipe, b.builder(), /*rebuild=*/true, shipped.path()).built);
  EXPECT_EQ(b.builds, 2);

  testing::TempDir other_cache;
  write_file_atomic(copy / "model" / "weights.bin", "weights, ROUNDED");  // damaged: same size, other bytes
  EXPECT_TRUE(ensure_artifact(other_cache.path(), recipe, b.builder(), false, shipped.path()).built);
  EXPECT_EQ(b.builds, 3);

  // A copy filed under this key's hash whose manifest holds another key is not trusted.
  ship_artifact(built.dir, shipped.path(), [](const std::filesystem::path& staged) {
    write_file_atomic(staged / "model" / "weights.bin", "weights, rounded");
  });
  Json manifest = read_json_file(copy / "artifact.json");
  manifest["key"] = {{"steps", 11}};
  write_json_atomic(copy / "artifact.json", manifest);
  testing::TempDir third_cache;
  EXPECT_TRUE(ensure_artifact(third_cache.path(), recipe, b.builder(), false, shipped.path()).built);
}

TEST(ShippedArtifact, ShipsOnlyACompleteEntryAndReplacesOnlyAnEarlierCopy) {
  testing::TempDir cache, shipped;
  CountingBuilder b;
  const Artifact built = ensure_artifact(cache.path(), {"toy", 1, {}}, b.builder());
  const auto copy_all = [&](const std::filesystem::path& staged) {
    write_file_atomic(staged / "model" / "weights.bin", read_file(built.dir / "model" / "weights.bin"));
  };
  const auto copy = ship_artifact(built.dir, shipped.path(), copy_all);
  EXPECT_EQ(ship_artifact(built.dir, shipped.path(), copy_all), copy);  // its own earlier copy: replaced

  testing::TempDir foreign;
  std::filesystem::create_directories(foreign.path() / "toy" / built.dir.filename());
  write_file_atomic(foreign.path() / "toy" / built.dir.filename() / "notes.txt", "mine");
  testing::expect_error_containing([&] { ship_artifact(built.dir, foreign.path(), copy_all); }, "is not a shipped artifact");
  EXPECT_EQ(read_file(foreign.path() / "toy" / built.dir.filename() / "notes.txt"), "mine");

  std::filesystem::remove(built.dir / "where.txt");
  testing::expect_error_containing([&] { ship_artifact(built.dir, shipped.path(), copy_all); }, "where.txt is missing");
}

}  // namespace
}  // namespace garden
