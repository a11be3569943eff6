#include "garden/text/tokenizer.h"

#include <fmt/core.h>
#include <dlfcn.h>

#include <cctype>
#include <cstdlib>
#include <sstream>
#include <type_traits>

#include "garden/core/error.h"
#include "garden/core/files.h"

namespace garden::text {

std::vector<int64_t> ByteTokenizer::encode(const std::string& text) const {
  std::vector<int64_t> ids;
  ids.reserve(text.size());
  for (unsigned char c : text) ids.push_back(c);
  return ids;
}

std::string ByteTokenizer::decode(const std::vector<int64_t>& ids) const {
  std::string text;
  for (int64_t id : ids)
    if (id >= 0 && id < 256) text += static_cast<char>(id);  // specials decode to nothing
  return text;
}

int64_t ByteTokenizer::piece_to_id(const std::string& piece) const {
  if (piece == "<s>") return bos_id();
  if (piece == "</s>") return eos_id();
  if (piece == "<pad>") return pad_id();
  if (piece.size() == 1) return static_cast<unsigned char>(piece[0]);
  return -1;
}

namespace {

// The SentencePiece module (see sentencepiece_shim/shim.cpp for why it is loaded apart).
struct SentencePieceModule {
  void* (*load)(const char*, char*, size_t);
  void (*destroy)(void*);
  void (*release)(void*);
  int (*encode)(void*, const char*, size_t, int**, size_t*, char*, size_t);
  int (*decode)(void*, const int*, size_t, char**, size_t*, char*, size_t);
  int (*piece_size)(void*);
  int (*bos_id)(void*);
  int (*eos_id)(void*);
  int (*pad_id)(void*);
  int (*unk_id)(void*);
  int (*piece_to_id)(void*, const char*);
  char* (*id_to_piece)(void*, int);
  int (*train)(const char*, char*, size_t);
};

std::filesystem::path executable_dir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path(".") : exe.parent_path();
}

const SentencePieceModule& sentencepiece_module() {
  static const SentencePieceModule module = [] {
    const char* name = "libgarden_sentencepiece.so";
    std::vector<std::filesystem::path> candidates;
    if (const char* env = std::getenv("GARDEN_SENTENCEPIECE_MODULE")) candidates.emplace_back(env);
    const auto dir = executable_dir();
    candidates.push_back(dir / name);
    candidates.push_back(dir / ".." / "lib" / name);
    candidates.push_back(dir / ".." / "lib" / "garden" / name);
    candidates.push_back(std::filesystem::path(GARDEN_MODULE_DIR) / name);
    void* library = nullptr;
    std::string tried;
    for (const auto& path : candidates) {
      if (!std::filesystem::exists(path)) {
        tried.append(" ").append(path.string());
        continue;
      }
      library = ::dlmopen(LM_ID_NEWLM, path.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (library) break;
      tried.append(" ").append(path.string()).append(" (").append(::dlerror()).append(")");
    }
    if (!library) throw Error(std::string("SentencePiece module ") + name + " not found; tried:" + tried);
    SentencePieceModule m{};
    auto bind = [&](auto& fn, const char* symbol) {
      void* address = ::dlsym(library, symbol);
      if (!address) throw Error(std::string("SentencePiece module lacks ") + symbol);
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(address);
    };
    bind(m.load, "garden_spm_load");
    bind(m.destroy, "garden_spm_destroy");
    bind(m.release, "garden_spm_release");
    bind(m.encode, "garden_spm_encode");
    bind(m.decode, "garden_spm_decode");
    bind(m.piece_size, "garden_spm_piece_size");
    bind(m.bos_id, "garden_spm_bos_id");
    bind(m.eos_id, "garden_spm_eos_id");
    bind(m.pad_id, "garden_spm_pad_id");
    bind(m.unk_id, "garden_spm_unk_id");
    bind(m.piece_to_id, "garden_spm_piece_to_id");
    bind(m.id_to_piece, "garden_spm_id_to_piece");
    bind(m.train, "garden_spm_train");
    return m;
  }();
  return module;
}

}  // namespace

struct SentencePieceTokenizer::State {
  void* handle = nullptr;
  ~State() {
    if (handle) sentencepiece_module().destroy(handle);
  }
};

SentencePieceTokenizer::SentencePieceTokenizer(const std::filesystem::path& model_path)
    : state_(std::make_unique<State>()), path_(model_path) {
  if (!std::filesystem::exists(model_path)) throw Error("tokenizer " + model_path.string() + ": no such file");
  char error[512] = "";
  state_->handle = sentencepiece_module().load(model_path.c_str(), error, sizeof error);
  // SentencePiece's own status ("Internal: ... [model_proto->ParseFromArray(...)]") says
  // nothing a user can act on.
  if (!state_->handle)
    throw Error("tokenizer " + model_path.string() +
                ": not a SentencePiece model (damaged, or another kind of file); train one with `garden tokenizer train`, "
                "or use the byte tokenizer ('bytes')");
}

SentencePieceTokenizer::~SentencePieceTokenizer() = default;

std::vector<int64_t> SentencePieceTokenizer::encode(const std::string& text) const {
  const auto& m = sentencepiece_module();
  int* ids = nullptr;
  size_t count = 0;
  char error[512] = "";
  if (!m.encode(state_->handle, text.data(), text.size(), &ids, &count, error, sizeof error))
    throw Error("tokenizer " + path_.string() + ": " + error);
  std::vector<int64_t> out(ids, ids + count);
  m.release(ids);
  return out;
}

std::string SentencePieceTokenizer::decode(const std::vector<int64_t>& ids) const {
  std::vector<int> pieces;
  for (int64_t id : ids) {
    if (id < 0 || id >= vocab_size()) throw Error(fmt::format("tokenizer {}: id {} outside the vocabulary of {}", path_.string(), id, vocab_size()));
    pieces.push_back(static_cast<int>(id));
  }
  const auto& m = sentencepiece_module();
  char* text = nullptr;
  size_t length = 0;
  char error[512] = "";
  if (!m.decode(state_->handle, pieces.data(), pieces.size(), &text, &length, error, sizeof error))
    throw Error("tokenizer " + path_.string() + ": " + error);
  std::string out(text, length);
  m.release(text);
  return out;
}

int64_t SentencePieceTokenizer::vocab_size() const { return sentencepiece_module().piece_size(state_->handle); }
int64_t SentencePieceTokenizer::bos_id() const { return sentencepiece_module().bos_id(state_->handle); }
int64_t SentencePieceTokenizer::eos_id() const { return sentencepiece_module().eos_id(state_->handle); }
int64_t SentencePieceTokenizer::pad_id() const { return sentencepiece_module().pad_id(state_->handle); }
int64_t SentencePieceTokenizer::piece_to_id(const std::string& piece) const {
  const auto& m = sentencepiece_module();
  const int id = m.piece_to_id(state_->handle, piece.c_str());
  // PieceToId answers unk for unknown pieces; only the unk piece itself maps there.
  if (id == m.unk_id(state_->handle)) {
    char* unk = m.id_to_piece(state_->handle, id);
    const bool is_unk = piece == unk;
    m.release(unk);
    if (!is_unk) return -1;
  }
  return id;
}

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& spec) {
  if (spec == "bytes") return std::make_unique<ByteTokenizer>();
  return std::make_unique<SentencePieceTokenizer>(spec);
}

namespace {

// SentencePiece's status of a failed training ("Internal: ./src/trainer_interface.cc(428)
// [!sentences_.empty()]") as one line that names the inputs and says what to do.
Error training_error(const TokenizerTrainOptions& options, const std::string& status) {
  std::string inputs;
  for (const auto& input : options.inputs) inputs.append(inputs.empty() ? "" : ", ").append(input.string());
  // The number after `marker` in the status, or -1.
  auto number_after = [&](const std::string& marker) -> int64_t {
    const auto at = status.find(marker);
    if (at == std::string::npos) return -1;
    const auto digits = status.substr(at + marker.size());
    return digits.empty() || !std::isdigit(static_cast<unsigned char>(digits[0])) ? -1 : std::stoll(digits.substr(0, 18));
  };
  if (status.find("!sentences_.empty()") != std::string::npos)
    return Error(fmt::format("tokenizer train: {}: no text to train on (every line is empty); give files with text", inputs));
  if (const int64_t most = number_after("Please set it to a value <= "); most >= 0)
    return Error(fmt::format("tokenizer train: --vocab {} is too large for this corpus ({}): it yields at most {} pieces; "
                             "use --vocab {} or less, or give more text", options.vocab, inputs, most, most));
  if (const int64_t least = number_after("Vocabulary size is smaller than required_chars. " + std::to_string(options.vocab) + " vs ");
      least >= 0)
    return Error(fmt::format("tokenizer train: --vocab {} is too small for {}: its distinct characters and the special "
                             "pieces need {}; use --vocab {} or more", options.vocab, inputs, least, least));
  std::string line = status.substr(0, status.find('\n'));
  for (char& c : line)
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  return Error(fmt::format("tokenizer train: SentencePiece failed on {}: {}", inputs, line));
}

}  // namespace

void train_tokenizer(const TokenizerTrainOptions& options, const std::filesystem::path& out) {
  if (options.inputs.empty()) usage_error("tokenizer train: give at least one --input file");
  if (options.type != "bpe" && options.type != "unigram")
    usage_error("tokenizer train: --type must be bpe or unigram, got '" + options.type + "'");
  if (options.vocab < 8) usage_error(fmt::format("tokenizer train: --vocab must be >= 8, got {}", options.vocab));
  std::string inputs;
  for (const auto& input : options.inputs) {
    if (!std::filesystem::is_regular_file(input)) throw Error("tokenizer train: input " + input.string() + ": no such file");
    if (input.string().find(',') != std::string::npos)
      throw Error("tokenizer train: input " + input.string() + ": file names with commas are not supported");
    if (!inputs.empty()) inputs += ',';
    inputs += input.string();
  }
  for (const auto& symbol : options.user_symbols)
    if (symbol.find(',') != std::string::npos || symbol.find(' ') != std::string::npos)
      usage_error("tokenizer train: special token '" + symbol + "' may not contain commas or spaces");
  std::string symbols;
  for (const auto& symbol : options.user_symbols) {
    if (!symbols.empty()) symbols += ',';
    symbols += symbol;
  }

  const auto staging = staging_path(out);
  std::ostringstream args;
  args << "--input=" << inputs << " --model_prefix=" << staging.string() << " --vocab_size=" << options.vocab
       << " --model_type=" << options.type << " --unk_id=" << options.unk_id << " --bos_id=" << options.bos_id
       << " --eos_id=" << options.eos_id << " --pad_id=" << options.pad_id
       << " --character_coverage=1.0 --byte_fallback=true --normalization_rule_name=identity"
       << " --remove_extra_whitespaces=false --split_digits=" << (options.split_digits ? "true" : "false")
       << " --input_sentence_size=" << options.max_sentences
       // No shuffling: with a sentence cap SentencePiece would sample with an unseeded
       // generator, and a tokenizer must be reproducible from its inputs.
       << " --shuffle_input_sentence=false"
       << " --minloglevel=2 --num_threads=2";
  if (!symbols.empty()) args << " --user_defined_symbols=" << symbols;
  if (!options.dummy_prefix) args << " --add_dummy_prefix=false";
  char error[1024] = "";
  const bool ok = sentencepiece_module().train(args.str().c_str(), error, sizeof error) != 0;
  const std::filesystem::path model_file = staging.string() + ".model", vocab_file = staging.string() + ".vocab";
  if (!ok) {
    std::error_code ignored;
    std::filesystem::remove(model_file, ignored);
    std::filesystem::remove(vocab_file, ignored);
    throw training_error(options, error);
  }
  std::filesystem::remove(vocab_file);
  if (out.has_parent_path()) std::filesystem::create_directories(out.parent_path());
  std::filesystem::rename(model_file, out);
}

}  // namespace garden::text
