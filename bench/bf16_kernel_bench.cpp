// How much room a hand-written bf16 product would have over oneDNN's (the kernels garden's bf16
// training and its PyTorch peer both run) at the LM benchmark's shapes: C[M,N] (float32) =
// A[M,K] x B[N,K]^T in bf16, as a linear layer's forward multiplies its input by its weight.
//
//   garden_bench_bf16_kernel --m M --n N --k K [--threads T] [--rounds R]
//
// The hand-written side is a plain AVX512_BF16 kernel: a tile of 6 rows x 64 columns of float32
// accumulators, each step one VDPBF16PS per 16 columns on a pair of K, B packed beforehand into
// panels of 64 columns with the pair of each column side by side (packing is not timed: it
// would be done once per weight and step). Both sides run on the same operands on T OpenMP
// threads; the two alternate in R rounds, each timing about 2 GFLOP of repeated products. One
// JSON line: the median GFLOP/s of each with its smallest and largest, the median of the
// rounds' ratios, and the largest difference of the two results relative to the largest |C|
// (above 1e-4 the run fails: timings of products that differ compare nothing).
#include <fmt/core.h>
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <oneapi/dnnl/dnnl.hpp>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "peers/process_stats.h"

namespace {

using bf16 = uint16_t;
constexpr int kRows = 6, kVectors = 4, kColumns = 16 * kVectors;

bf16 round_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return static_cast<bf16>((u + 0x7fff + ((u >> 16) & 1)) >> 16);  // to nearest, ties to even
}

// B [N,K] into panels of kColumns columns, each [K/2][kColumns][2].
std::vector<bf16> pack_pairs(const std::vector<bf16>& b, int64_t n, int64_t k) {
  std::vector<bf16> packed(b.size());
  for (int64_t j0 = 0; j0 < n; j0 += kColumns)
    for (int64_t pair = 0; pair < k / 2; ++pair)
      for (int64_t j = 0; j < kColumns; ++j)
        for (int64_t half = 0; half < 2; ++half)
          packed[j0 * k + (pair * kColumns + j) * 2 + half] = b[(j0 + j) * k + 2 * pair + half];
  return packed;
}

template <int Rows>
__attribute__((target("avx512f,avx512bf16"))) void tile(const bf16* a, int64_t k, const bf16* panel, float* c, int64_t ldc) {
  __m512 acc[Rows][kVectors];
  for (auto& row : acc)
    for (auto& v : row) v = _mm512_setzero_ps();
  for (int64_t pair = 0; pair < k / 2; ++pair) {
    __m512bh columns[kVectors];
    for (int v = 0; v < kVectors; ++v) columns[v] = (__m512bh)_mm512_loadu_si512(panel + (pair * kColumns + v * 16) * 2);
    for (int r = 0; r < Rows; ++r) {
      int32_t both;
      std::memcpy(&both, a + r * k + 2 * pair, 4);
      const auto broadcast = (__m512bh)_mm512_set1_epi32(both);
      for (int v = 0; v < kVectors; ++v) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], broadcast, columns[v]);
    }
  }
  for (int r = 0; r < Rows; ++r)
    for (int v = 0; v < kVectors; ++v) _mm512_storeu_ps(c + r * ldc + v * 16, acc[r][v]);
}

// Called only once the processor is known to have AVX512_BF16; the tiles inline into it.
__attribute__((target("avx512f,avx512bf16"))) void hand_written(const bf16* a, const bf16* packed, float* c, int64_t m, int64_t n, int64_t k) {
#pragma omp parallel for schedule(static)
  for (int64_t panel = 0; panel < n / kColumns; ++panel) {
    const bf16* columns = packed + panel * kColumns * k;
    float* out = c + panel * kColumns;
    int64_t i = 0;
    for (; i + kRows <= m; i += kRows) tile<kRows>(a + i * k, k, columns, out + i * n, n);
    for (; i < m; ++i) tile<1>(a + i * k, k, columns, out + i * n, n);
  }
}

struct Spread {
  double median, min, max;
};

Spread spread(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2], v.front(), v.back()};
}

int64_t option(const std::map<std::string, std::string>& options, const std::string& key, int64_t fallback, int64_t lo, int64_t hi) {
  const auto it = options.find(key);
  if (it == options.end()) {
    if (fallback < 0) throw std::runtime_error("missing --" + key);
    return fallback;
  }
  size_t used = 0;
  int64_t value = 0;
  try {
    value = std::stoll(it->second, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != it->second.size()) throw std::runtime_error("--" + key + " needs an integer, got '" + it->second + "'");
  if (value < lo || value > hi) throw std::runtime_error(fmt::format("--{} must be between {} and {}, got {}", key, lo, hi, value));
  return value;
}

int measure(const std::map<std::string, std::string>& options) {
  const int64_t cores = std::max(1u, std::thread::hardware_concurrency());
  const int64_t m = option(options, "m", -1, 1, 16384), n = option(options, "n", -1, 1, 16384), k = option(options, "k", -1, 2, 16384);
  const int64_t threads = option(options, "threads", std::min<int64_t>(2, cores), 1, cores);
  const int64_t rounds = option(options, "rounds", 15, 1, 1000);
  if (n % kColumns != 0) throw std::runtime_error(fmt::format("--n must be a multiple of {} (the kernel's panel width), got {}", kColumns, n));
  if (k % 2 != 0) throw std::runtime_error(fmt::format("--k must be even (VDPBF16PS takes pairs along K), got {}", k));
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx512bf16")) throw std::runtime_error("this processor has no AVX512_BF16: nothing to measure");
  omp_set_num_threads(static_cast<int>(threads));

  std::mt19937 random(0);
  std::uniform_real_distribution<float> uniform(-0.5f, 0.5f);
  std::vector<bf16> a(m * k), b(n * k);
  for (auto& x : a) x = round_to_bf16(uniform(random));
  for (auto& x : b) x = round_to_bf16(uniform(random));
  const auto packed = pack_pairs(b, n, k);
  std::vector<float> from_onednn(m * n), from_kernel(m * n);

  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  using dt = dnnl::memory::data_type;
  using tag = dnnl::memory::format_tag;
  // B [N,K] row-major is the weights [K,N] with its dimensions swapped ("ba"), as garden's linear layer gives it.
  const dnnl::memory::desc a_desc({m, k}, dt::bf16, tag::ab), b_desc({k, n}, dt::bf16, tag::ba), c_desc({m, n}, dt::f32, tag::ab);
  const dnnl::matmul product(dnnl::matmul::primitive_desc(dnnl::matmul::desc(a_desc, b_desc, c_desc), engine));
  dnnl::memory a_mem(a_desc, engine, a.data()), b_mem(b_desc, engine, b.data()), c_mem(c_desc, engine, from_onednn.data());
  const auto run_onednn = [&] {
    product.execute(stream, {{DNNL_ARG_SRC, a_mem}, {DNNL_ARG_WEIGHTS, b_mem}, {DNNL_ARG_DST, c_mem}});
    stream.wait();
  };
  const auto run_kernel = [&] { hand_written(a.data(), packed.data(), from_kernel.data(), m, n, k); };

  run_onednn();
  run_kernel();
  double gap = 0, largest = 0;
  for (int64_t i = 0; i < m * n; ++i) {
    gap = std::max(gap, static_cast<double>(std::fabs(from_onednn[i] - from_kernel[i])));
    largest = std::max(largest, static_cast<double>(std::fabs(from_onednn[i])));
  }
  const double relative_gap = largest > 0 ? gap / largest : gap;
  if (!(relative_gap <= 1e-4)) throw std::runtime_error(fmt::format("the two products differ by {:.2e} (relative): nothing to compare", relative_gap));

  const double flops = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  const int64_t repeats = std::max<int64_t>(1, static_cast<int64_t>(2e9 / flops));
  const auto rate = [&](const auto& run) {
    const auto start = std::chrono::steady_clock::now();
    for (int64_t r = 0; r < repeats; ++r) run();
    return flops * static_cast<double>(repeats) / bench::seconds_since(start) / 1e9;
  };
  std::vector<double> onednn_rates, kernel_rates, ratios;
  for (int64_t round = 0; round < rounds; ++round) {
    const bool kernel_first = round % 2 == 1;
    const double first = kernel_first ? rate(run_kernel) : rate(run_onednn);
    const double second = kernel_first ? rate(run_onednn) : rate(run_kernel);
    onednn_rates.push_back(kernel_first ? second : first);
    kernel_rates.push_back(kernel_first ? first : second);
    ratios.push_back(kernel_rates.back() / onednn_rates.back());
  }
  const auto of_onednn = spread(onednn_rates), of_kernel = spread(kernel_rates);
  const nlohmann::json out{{"m", m},
                           {"n", n},
                           {"k", k},
                           {"threads", threads},
                           {"rounds", rounds},
                           {"onednn_version", fmt::format("{}.{}.{}", dnnl::version()->major, dnnl::version()->minor, dnnl::version()->patch)},
                           {"onednn_gflops", {{"median", of_onednn.median}, {"min", of_onednn.min}, {"max", of_onednn.max}}},
                           {"kernel_gflops", {{"median", of_kernel.median}, {"min", of_kernel.min}, {"max", of_kernel.max}}},
                           {"kernel_over_onednn", spread(ratios).median},
                           {"max_relative_difference", relative_gap}};
  fmt::print("{}\n", out.dump());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::map<std::string, std::string> options;
    for (int i = 1; i < argc; ++i) {
      const std::string key = argv[i];
      if (key.rfind("--", 0) != 0) throw std::runtime_error("unexpected argument " + key);
      if (i + 1 >= argc) throw std::runtime_error(key + " needs a value");
      if (key != "--m" && key != "--n" && key != "--k" && key != "--threads" && key != "--rounds") throw std::runtime_error("unknown option " + key);
      options[key.substr(2)] = argv[++i];
    }
    return measure(options);
  } catch (const std::exception& e) {
    fmt::print(stderr, "garden_bench_bf16_kernel: {}\n", e.what());
    return 1;
  }
}
