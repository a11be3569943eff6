// Dense vectors on disk: .npy (float32, 2-D, C order, little-endian; NumPy format 1.0/2.0)
// and .fvecs (per row: int32 dimension, then that many float32). Row-major n x d
// throughout, as in FAISS.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

namespace garden::retrieval {

struct Matrix {
  int64_t rows = 0, cols = 0;
  std::vector<float> data;  // rows * cols, row-major
  const float* row(int64_t i) const { return data.data() + i * cols; }
  float* row(int64_t i) { return data.data() + i * cols; }
};

Matrix read_vectors(const std::filesystem::path& path);  // by extension: .npy or .fvecs
void write_npy(const std::filesystem::path& path, const Matrix& m);

// The first `dims` columns of each row (Matryoshka prefixes), L2-normalised when `normalise`.
Matrix truncate_rows(const Matrix& m, int64_t dims, bool normalise);
void normalise_rows(Matrix& m);

}  // namespace garden::retrieval
