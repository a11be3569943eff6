// Tokenizers behind one interface: SentencePiece models (BPE or unigram, trained by
// `garden tokenizer train`) and a byte-level tokenizer for character-level experiments
// (every byte is a token; ASCII text is then exactly character-level).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace garden::text {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  virtual std::vector<int64_t> encode(const std::string& text) const = 0;
  virtual std::string decode(const std::vector<int64_t>& ids) const = 0;
  virtual int64_t vocab_size() const = 0;
  virtual int64_t bos_id() const = 0;
  virtual int64_t eos_id() const = 0;
  virtual int64_t pad_id() const = 0;
  // The id of a piece such as "<|embed|>", or -1 when the vocabulary lacks it.
  virtual int64_t piece_to_id(const std::string& piece) const = 0;
  // "bytes" or the path of the SentencePiece model: enough to load it again.
  virtual std::string spec() const = 0;
};

// Bytes 0..255 are ids 0..255; then bos=256, eos=257, pad=258.
class ByteTokenizer final : public Tokenizer {
 public:
  std::vector<int64_t> encode(const std::string& text) const override;
  std::string decode(const std::vector<int64_t>& ids) const override;
  int64_t vocab_size() const override { return 259; }
  int64_t bos_id() const override { return 256; }
  int64_t eos_id() const override { return 257; }
  int64_t pad_id() const override { return 258; }
  int64_t piece_to_id(const std::string& piece) const override;
  std::string spec() const override { return "bytes"; }
};

class SentencePieceTokenizer final : public Tokenizer {
 public:
  explicit SentencePieceTokenizer(const std::filesystem::path& model_path);
  ~SentencePieceTokenizer() override;
  std::vector<int64_t> encode(const std::string& text) const override;
  std::string decode(const std::vector<int64_t>& ids) const override;
  int64_t vocab_size() const override;
  int64_t bos_id() const override;
  int64_t eos_id() const override;
  int64_t pad_id() const override;
  int64_t piece_to_id(const std::string& piece) const override;
  std::string spec() const override { return path_.string(); }

 private:
  struct State;
  std::unique_ptr<State> state_;
  std::filesystem::path path_;
};

// "bytes" or a path to a SentencePiece .model file.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& spec);

struct TokenizerTrainOptions {
  std::vector<std::filesystem::path> inputs;  // plain text, one sentence a line
  int64_t vocab = 8000;
  std::string type = "bpe";  // bpe | unigram
  // Special ids; -1 disables one. unk must exist (SentencePiece requires it).
  int64_t unk_id = 0, bos_id = 1, eos_id = 2, pad_id = 3;
  std::vector<std::string> user_symbols;  // kept whole, e.g. "<|embed|>", "<mask>"
  int64_t max_sentences = 2000000;        // read at most this many lines (the first ones)
  // SentencePiece's dummy prefix: a space added before every encoded text, so a text's first
  // word is split as it would be after a space. Off for chat templates, whose messages are
  // then tokenised the same alone as inside the whole prompt.
  bool dummy_prefix = true;
  // Every digit its own piece (numbers are read digit by digit). Off, pieces may join a digit
  // to what surrounds it (", 7"), for texts whose digits are symbols rather than numbers.
  bool split_digits = true;
};

// Trains a SentencePiece model and writes it to `out` (atomically). The normaliser is the
// identity with byte fallback, so decode(encode(text)) == text for any UTF-8 text.
void train_tokenizer(const TokenizerTrainOptions& options, const std::filesystem::path& out);

}  // namespace garden::text
