// The allocator settings: glibc accepts them, and a large block then comes from the heap
// instead of a fresh mapping (which cost page faults on every training step).
#include "garden/core/runtime.h"

#include <gtest/gtest.h>
#include <malloc.h>

#include <cstdlib>
#include <cstring>

namespace garden {
namespace {

TEST(Runtime, AfterTuningLargeBlocksComeFromTheHeapNotFromMmap) {
  ASSERT_TRUE(tune_allocator());
  const size_t mapped_before = mallinfo2().hblkhd;  // bytes in blocks glibc mapped one by one
  constexpr size_t kBlock = size_t{96} << 20;        // above glibc's largest mmap threshold
  void* block = std::malloc(kBlock);
  ASSERT_NE(block, nullptr);
  std::memset(block, 1, kBlock);
  EXPECT_EQ(mallinfo2().hblkhd, mapped_before);
  std::free(block);
}

}  // namespace
}  // namespace garden
