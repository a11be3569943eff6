#include "garden/retrieval/vectors.h"

#include <fmt/core.h>

#include <cmath>
#include <cstring>
#include <charconv>

#include "garden/core/error.h"
#include "garden/core/files.h"

namespace garden::retrieval {

namespace {

// Where the value of 'key' starts in a .npy header (a Python dict literal), or npos.
size_t npy_header_value(const std::string& header, const std::string& key) {
  size_t at = header.find("'" + key + "'");
  if (at == std::string::npos) return at;
  at += key.size() + 2;
  while (at < header.size() && header[at] == ' ') ++at;
  if (at >= header.size() || header[at] != ':') return std::string::npos;
  ++at;
  while (at < header.size() && header[at] == ' ') ++at;
  return at < header.size() ? at : std::string::npos;
}

// Skips spaces, then `c`; false when `c` is not there.
bool npy_skip(const std::string& header, size_t& at, char c) {
  while (at < header.size() && header[at] == ' ') ++at;
  if (at >= header.size() || header[at] != c) return false;
  ++at;
  return true;
}

// A dimension of the shape: decimal digits that fit an int64.
bool npy_size(const std::string& header, size_t& at, int64_t& value) {
  while (at < header.size() && header[at] == ' ') ++at;
  const auto [end, error] = std::from_chars(header.data() + at, header.data() + header.size(), value);
  if (error != std::errc() || end == header.data() + at || header[at] == '-') return false;
  at = static_cast<size_t>(end - header.data());
  return true;
}

// The header for an error message: one line, at most 200 bytes.
std::string printable_header(std::string header) {
  while (!header.empty() && (header.back() == '\n' || header.back() == ' ')) header.pop_back();
  if (header.size() > 200) header = header.substr(0, 200) + "...";
  for (char& c : header)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return header;
}

Matrix read_npy(const std::filesystem::path& path) {
  const std::string bytes = read_file(path);
  const std::string where = path.string();
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) throw Error(where + ": not a .npy file");
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t header_len = 0, offset = 0;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<size_t>(static_cast<unsigned char>(bytes[9])) << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw Error(where + ": truncated .npy header");
    for (int i = 0; i < 4; ++i) header_len |= static_cast<size_t>(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
    offset = 12;
  } else {
    throw Error(fmt::format("{}: unsupported .npy version {}", where, major));
  }
  if (offset + header_len > bytes.size()) throw Error(where + ": truncated .npy header");
  const std::string header = bytes.substr(offset, header_len);
  const size_t descr = npy_header_value(header, "descr"), fortran = npy_header_value(header, "fortran_order"),
               shape = npy_header_value(header, "shape");
  if (descr == std::string::npos || header.compare(descr, 5, "'<f4'") != 0)
    throw Error(where + ": vectors must be float32 ('<f4'), header says " + printable_header(header));
  if (fortran != std::string::npos && header.compare(fortran, 4, "True") == 0)
    throw Error(where + ": Fortran-order arrays are not supported; save with C order");
  Matrix out;
  size_t at = shape;
  if (shape == std::string::npos || header[at++] != '(' || !npy_size(header, at, out.rows) || !npy_skip(header, at, ',') ||
      !npy_size(header, at, out.cols) || (npy_skip(header, at, ','), !npy_skip(header, at, ')')))
    throw Error(where + ": vectors must be a 2-D array (rows, dims), header says " + printable_header(header));
  // rows * cols * 4 must not overflow before it is compared with the bytes there are.
  const size_t data_bytes = bytes.size() - offset - header_len;
  size_t expected = 0;
  if (__builtin_mul_overflow(static_cast<size_t>(out.rows), static_cast<size_t>(out.cols), &expected) ||
      __builtin_mul_overflow(expected, sizeof(float), &expected) || data_bytes != expected)
    throw Error(fmt::format("{}: {} data bytes, expected {} for shape ({}, {}) (truncated?)", where, data_bytes,
                            static_cast<long double>(out.rows) * static_cast<long double>(out.cols) * sizeof(float), out.rows, out.cols));
  out.data.resize(static_cast<size_t>(out.rows * out.cols));
  if (data_bytes > 0) std::memcpy(out.data.data(), bytes.data() + offset + header_len, data_bytes);
  return out;
}

Matrix read_fvecs(const std::filesystem::path& path) {
  const std::string bytes = read_file(path);
  Matrix out;
  size_t pos = 0;
  while (pos < bytes.size()) {
    if (pos + 4 > bytes.size()) throw Error(path.string() + ": truncated .fvecs row header");
    int32_t d = 0;
    std::memcpy(&d, bytes.data() + pos, 4);
    if (d <= 0 || (out.cols != 0 && d != out.cols))
      throw Error(fmt::format("{}: row {} has dimension {}, expected {}", path.string(), out.rows, d, out.cols));
    out.cols = d;
    pos += 4;
    if (pos + static_cast<size_t>(d) * 4 > bytes.size()) throw Error(path.string() + ": truncated .fvecs row");
    const size_t at = out.data.size();
    out.data.resize(at + static_cast<size_t>(d));
    std::memcpy(out.data.data() + at, bytes.data() + pos, static_cast<size_t>(d) * 4);
    pos += static_cast<size_t>(d) * 4;
    ++out.rows;
  }
  return out;
}

}  // namespace

Matrix read_vectors(const std::filesystem::path& path) {
  const auto ext = path.extension();
  Matrix m;
  if (ext == ".npy") m = read_npy(path);
  else if (ext == ".fvecs") m = read_fvecs(path);
  else throw Error(path.string() + ": vectors must be .npy (float32, 2-D) or .fvecs");
  if (m.rows == 0) throw Error(path.string() + ": no vectors");
  for (float v : m.data)
    if (!std::isfinite(v)) throw Error(path.string() + ": contains NaN or infinite values");
  return m;
}

void write_npy(const std::filesystem::path& path, const Matrix& m) {
  std::string header = fmt::format("{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, {}), }}", m.rows, m.cols);
  // Magic (6) + version (2) + length (2) + header, padded with spaces to a multiple of 64, ending in \n.
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>((header.size() >> 8) & 0xff);
  out += header;
  out.append(reinterpret_cast<const char*>(m.data.data()), m.data.size() * sizeof(float));
  write_file_atomic(path, out);
}

void normalise_rows(Matrix& m) {
  for (int64_t i = 0; i < m.rows; ++i) {
    float* r = m.row(i);
    double norm = 0;
    for (int64_t j = 0; j < m.cols; ++j) norm += static_cast<double>(r[j]) * r[j];
    norm = std::sqrt(norm);
    if (norm > 0)
      for (int64_t j = 0; j < m.cols; ++j) r[j] = static_cast<float>(r[j] / norm);
  }
}

Matrix truncate_rows(const Matrix& m, int64_t dims, bool normalise) {
  if (dims <= 0 || dims > m.cols) throw Error(fmt::format("cannot keep {} dimensions of {}-dimensional vectors", dims, m.cols));
  Matrix out;
  out.rows = m.rows;
  out.cols = dims;
  out.data.resize(static_cast<size_t>(m.rows * dims));
  for (int64_t i = 0; i < m.rows; ++i) std::memcpy(out.row(i), m.row(i), static_cast<size_t>(dims) * sizeof(float));
  if (normalise) normalise_rows(out);
  return out;
}

}  // namespace garden::retrieval
