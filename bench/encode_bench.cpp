// Encoder throughput, garden's side of bench/encode.py (which runs it and the same encoder in
// PyTorch-Python, bench/peers/encode_peer.py, in fresh processes, alternating):
//   garden_bench_encode prepare DIR COLLECTION DOCS [HEAD]
//       turns the shared base LM (garden lm base) into an embedder as `garden embed init`
//       does (mean pooling, bidirectional attention; HEAD "ance": ANCE's head, a linear layer
//       and a LayerNorm scored by inner product) in DIR/embedder, and tokenises the first
//       DOCS documents of the BEIR collection (title + text, EOS appended, cut to the
//       embedder's max_tokens) into DIR/rows.json {"pad_id", "rows"}; prints {"embedder",
//       "model" (the base LM's folder, whose weights the peer reads), "documents", "tokens"}
//   garden_bench_encode run DIR BATCH THREADS ROUNDS
//       one warm-up pass, then ROUNDS timed passes of garden's encode_token_rows (rows sorted
//       by length, batches of BATCH, right-padded); prints {"seconds": [per pass], "sample":
//       the vectors of the first 16 documents, "peak_rss_bytes"}
#include <fmt/core.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "garden/core/data_root.h"
#include "garden/core/files.h"
#include "garden/core/json.h"
#include "garden/core/runtime.h"
#include "garden/model/embedder.h"
#include "garden/model/model_folder.h"
#include "garden/retrieval/collection.h"
#include "garden/train/base_lm.h"
#include "peers/process_stats.h"

namespace {

namespace fs = std::filesystem;
using garden::Json;

constexpr int64_t kSample = 16;

int prepare(const fs::path& dir, const fs::path& collection_dir, int64_t docs, const std::string& head) {
  if (head != "mean" && head != "ance") throw std::runtime_error("HEAD must be mean or ance, not '" + head + "'");
  const auto base = garden::train::ensure_base_lm(garden::resolve_cache_dir(""), garden::resolve_data_root(""),
                                                  garden::train::BaseLmOptions{});
  torch::manual_seed(0);
  auto lm = garden::model::load_model(base.model);
  garden::model::EmbedderConfig config;  // mean pooling, bidirectional: `garden embed init`'s defaults
  if (head == "ance") {  // garden embed init --projection D --projection-layernorm --score dot
    config.projection = lm.model->config().d_model;
    config.projection_layernorm = true;
    config.unit_vectors = false;
  }
  garden::model::Embedder embedder(lm.model, config);
  fs::create_directories(dir);
  garden::model::save_embedder(dir / "embedder", embedder, lm.tokenizer_spec);
  const auto collection = garden::retrieval::read_beir_collection(collection_dir);
  const auto tokenizer = garden::text::load_tokenizer(lm.tokenizer_spec);
  Json rows = Json::array();
  int64_t tokens = 0;
  for (const auto& doc : collection.corpus) {
    if (static_cast<int64_t>(rows.size()) == docs) break;
    auto ids = tokenizer->encode(garden::retrieval::document_text(doc));
    ids.resize(std::min<size_t>(ids.size(), static_cast<size_t>(config.max_tokens - 1)));
    ids.push_back(tokenizer->eos_id());
    tokens += static_cast<int64_t>(ids.size());
    rows.push_back(ids);
  }
  std::ofstream(dir / "rows.json") << Json{{"pad_id", tokenizer->pad_id()}, {"rows", rows}}.dump() << "\n";
  fmt::print("{}\n", Json{{"embedder", (dir / "embedder").string()}, {"model", base.model.string()},
                          {"documents", rows.size()}, {"tokens", tokens}}
                         .dump());
  return 0;
}

int run(const fs::path& dir, int64_t batch, int threads, int rounds) {
  garden::configure_threads(threads);
  auto loaded = garden::model::load_embedder(dir / "embedder");
  const Json data = garden::read_json_file(dir / "rows.json");
  const auto rows = data.at("rows").get<std::vector<std::vector<int64_t>>>();
  const int64_t pad = data.at("pad_id").get<int64_t>();
  garden::model::encode_token_rows(loaded.embedder, rows, pad, batch);  // warm-up
  std::vector<double> seconds;
  torch::Tensor vectors;
  for (int round = 0; round < rounds; ++round) {
    const auto start = std::chrono::steady_clock::now();
    vectors = garden::model::encode_token_rows(loaded.embedder, rows, pad, batch);
    seconds.push_back(bench::seconds_since(start));
  }
  std::vector<std::vector<float>> sample;
  for (int64_t i = 0; i < std::min<int64_t>(kSample, vectors.size(0)); ++i) {
    const auto row = vectors[i].contiguous();
    sample.emplace_back(row.data_ptr<float>(), row.data_ptr<float>() + row.numel());
  }
  fmt::print("{}\n", Json{{"seconds", seconds}, {"sample", sample}, {"peak_rss_bytes", bench::peak_resident_bytes()}}.dump());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string command = argc > 1 ? argv[1] : "";
  try {
    if (command == "prepare" && (argc == 5 || argc == 6)) return prepare(argv[2], argv[3], std::stoll(argv[4]), argc == 6 ? argv[5] : "mean");
    if (command == "run" && argc == 6) return run(argv[2], std::stoll(argv[3]), std::stoi(argv[4]), std::stoi(argv[5]));
  } catch (const std::exception& e) {
    fmt::print(stderr, "garden_bench_encode {}: {}\n", command, e.what());
    return 1;
  }
  fmt::print(stderr, "usage: garden_bench_encode prepare DIR COLLECTION DOCS [mean|ance] | run DIR BATCH THREADS ROUNDS\n");
  return 2;
}
