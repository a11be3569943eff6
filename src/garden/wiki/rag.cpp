#include "garden/wiki/rag.h"

#include <fmt/core.h>

#include <algorithm>
#include <map>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/wiki/line_index.h"
#include "garden/wiki/reader.h"

namespace garden::wiki {

namespace fs = std::filesystem;

struct RagBaseline::State {
  std::map<std::string, std::string> chunk_text;  // id -> text
  std::unique_ptr<LineIndex> index;
};

RagBaseline::RagBaseline(const fs::path& sources_dir, int64_t chunk_tokens) : state_(std::make_unique<State>()) {
  if (!fs::is_directory(sources_dir)) throw Error(fmt::format("{}: no such folder of sources", sources_dir.string()), ErrorKind::usage);
  if (chunk_tokens < 16) usage_error(fmt::format("chunks of {} tokens: at least 16", chunk_tokens));
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(sources_dir))
    if (entry.is_regular_file() && !entry.path().filename().string().starts_with(".")) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  if (files.empty()) throw Error(fmt::format("{}: holds no sources", sources_dir.string()), ErrorKind::usage);
  std::vector<std::string> ids, texts;
  for (const auto& file : files) {
    const auto text = read_file(file);
    const auto date = source_date(text);
    const auto header = date.empty() ? "" : text.substr(0, text.find('\n')) + "\n";
    // The date line counts toward the first chunk; later chunks get it again on top.
    const auto body = header.empty() ? text : text.substr(header.size());
    const auto pieces = chunk_by_tokens(body, std::max<int64_t>(chunk_tokens - count_tokens(header), 8));
    for (size_t i = 0; i < pieces.size(); ++i) {
      ids.push_back(fmt::format("{}#{}", file.stem().string(), i));
      texts.push_back(header + pieces[i]);
      state_->chunk_text[ids.back()] = texts.back();
    }
  }
  state_->index = std::make_unique<LineIndex>(ids, texts);  // the wiki's index search settings
}

RagBaseline::~RagBaseline() = default;

int64_t RagBaseline::chunks() const { return static_cast<int64_t>(state_->chunk_text.size()); }

RagResult RagBaseline::query(const std::string& question, int64_t k) const {
  if (k < 1) usage_error(fmt::format("--k {}: at least 1", k));
  RagResult result;
  for (const auto& hit : state_->index->search(question, k)) {
    result.chunk_ids.push_back(hit.doc_id);
    result.text_read += state_->chunk_text.at(hit.doc_id);
  }
  result.tokens_read = count_tokens(result.text_read);
  if (const auto parsed = parse_question(question)) {
    auto answer = read_answer(*parsed, result.text_read);
    result.answer = std::move(answer.answer);
    result.evidence = std::move(answer.evidence);
  }
  return result;
}

}  // namespace garden::wiki
