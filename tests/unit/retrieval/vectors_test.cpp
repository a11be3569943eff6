// .npy headers that used to end in an exception from the standard library or an allocation of
// exabytes (found by tests/fuzz/npy.cpp): each is now one error naming the file.
#include "garden/retrieval/vectors.h"

#include <gtest/gtest.h>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "test_files.h"

namespace garden::retrieval {
namespace {

// A version 1.0 .npy file with this header and data.
std::string npy_with_header(const std::string& header, const std::string& data = "") {
  std::string bytes("\x93NUMPY\x01\x00", 8);
  bytes += static_cast<char>(header.size() & 0xff);
  bytes += static_cast<char>((header.size() >> 8) & 0xff);
  return bytes + header + data;
}

void expect_one_line_error(const std::filesystem::path& path, const std::string& fragment) {
  try {
    read_vectors(path);
    ADD_FAILURE() << path << " was accepted";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(path.string() + ": "), std::string::npos) << message;
    EXPECT_NE(message.find(fragment), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "escaped as a foreign exception: " << e.what();
  }
}

TEST(Vectors, NpyShapesTooLargeForAnInt64AreRefused) {
  testing::TempDir dir;
  write_file_atomic(dir.path() / "v.npy",
                    npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999, 2), }\n"));
  expect_one_line_error(dir.path() / "v.npy", "vectors must be a 2-D array (rows, dims)");
}

TEST(Vectors, NpyShapesWhoseByteCountOverflowsAreRefused) {
  testing::TempDir dir;
  // 2^62 rows of one float: rows * cols * 4 wraps to 0, which matched the 0 data bytes.
  write_file_atomic(dir.path() / "v.npy",
                    npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 1), }\n"));
  expect_one_line_error(dir.path() / "v.npy", "0 data bytes, expected");
}

TEST(Vectors, NpyHeadersInErrorsStayOnOneLine) {
  testing::TempDir dir;
  write_file_atomic(dir.path() / "v.npy", npy_with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1), }\n", "12345678"));
  expect_one_line_error(dir.path() / "v.npy", "vectors must be float32 ('<f4'), header says {'descr': '<f8'");
}

TEST(Vectors, NpyHeadersAsNumpyWritesThemAreRead) {
  testing::TempDir dir;
  const std::string two_floats("\x00\x00\x80\x3f\x00\x00\x00\x40", 8);
  for (const std::string shape : {"(1, 2)", "(1,2)", "(1, 2,)", "( 1 , 2 )"}) {
    write_file_atomic(dir.path() / "v.npy", npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }\n", two_floats));
    const Matrix m = read_vectors(dir.path() / "v.npy");
    EXPECT_EQ(m.rows, 1) << shape;
    EXPECT_EQ(m.cols, 2) << shape;
    EXPECT_EQ(m.data, (std::vector<float>{1, 2})) << shape;
  }
}

}  // namespace
}  // namespace garden::retrieval
