#include "garden/text/tokenizer.h"

#include <gtest/gtest.h>

#include "garden/core/error.h"
#include "garden/core/files.h"
#include "garden/text/sentencepiece_model.h"
#include "test_files.h"

namespace garden::text {
namespace {

TEST(ByteTokenizer, RoundTripsAnyBytesAndHasFixedSpecials) {
  ByteTokenizer tok;
  const std::string text = "caf\xc3\xa9\n\t<|embed|>";
  EXPECT_EQ(tok.decode(tok.encode(text)), text);
  EXPECT_EQ(tok.encode("A")[0], 65);
  EXPECT_EQ(tok.bos_id(), 256);
  EXPECT_EQ(tok.decode({256, 'h', 'i', 257}), "hi");  // specials decode to nothing
}

// One SentencePiece model shared by the tests below (training takes a second or two).
class SentencePiece : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    std::string corpus;
    const char* lines[] = {"the quick brown fox jumps over the lazy dog", "a stitch in time saves nine",
                           "all that glitters is not gold", "to be or not to be, that is the question"};
    for (int i = 0; i < 200; ++i) corpus += std::string(lines[i % 4]) + " " + std::to_string(i) + "\n";
    write_file_atomic(dir_->path() / "corpus.txt", corpus);
    TokenizerTrainOptions o;
    o.inputs = {dir_->path() / "corpus.txt"};
    o.vocab = 300;  // byte fallback alone takes 256 ids
    o.user_symbols = {"<|embed|>", "<mask>"};
    train_tokenizer(o, dir_->path() / "tok.model");
  }
  static void TearDownTestSuite() { delete dir_; }
  static testing::TempDir* dir_;
};
testing::TempDir* SentencePiece::dir_ = nullptr;

TEST_F(SentencePiece, RoundTripIncludingSpecialTokensAndSpaces) {
  auto tok = load_tokenizer((dir_->path() / "tok.model").string());
  EXPECT_EQ(tok->vocab_size(), 300);
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_id(), 2);
  EXPECT_EQ(tok->pad_id(), 3);
  const std::string text = "the  lazy <|embed|> fox<mask> 42 \xc3\xa9t\xc3\xa9";  // double space, unseen é
  auto ids = tok->encode(text);
  EXPECT_EQ(tok->decode(ids), text);
  const int64_t embed = tok->piece_to_id("<|embed|>");
  ASSERT_GE(embed, 0);
  EXPECT_NE(std::find(ids.begin(), ids.end(), embed), ids.end()) << "a special token stays one piece";
  EXPECT_EQ(tok->piece_to_id("<never-seen>"), -1);
}

// The .model file read without SentencePiece agrees with SentencePiece on every piece's id,
// and has the types and settings garden trains with.
TEST_F(SentencePiece, ModelFileReadDirectlyAgreesWithSentencePiece) {
  const auto path = dir_->path() / "tok.model";
  auto tok = load_tokenizer(path.string());
  const auto info = read_sentencepiece_model(path);
  ASSERT_EQ(static_cast<int64_t>(info.pieces.size()), tok->vocab_size());
  EXPECT_EQ(info.model_type, "bpe");
  EXPECT_TRUE(info.byte_fallback);
  EXPECT_TRUE(info.add_dummy_prefix);
  EXPECT_FALSE(info.remove_extra_whitespaces);
  int counts[7] = {};
  float last_normal_score = 1.0f;
  for (size_t id = 0; id < info.pieces.size(); ++id) {
    const auto& p = info.pieces[id];
    EXPECT_EQ(tok->piece_to_id(p.piece), static_cast<int64_t>(id)) << p.piece;
    ++counts[static_cast<int>(p.type)];
    if (p.type == PieceType::normal) {  // BPE scores fall with the merge order
      EXPECT_LE(p.score, last_normal_score) << p.piece;
      last_normal_score = p.score;
    }
  }
  EXPECT_EQ(info.pieces[0].type, PieceType::unknown);
  EXPECT_EQ(info.pieces[1].piece, "<s>");
  EXPECT_EQ(info.pieces[1].type, PieceType::control);
  EXPECT_EQ(info.pieces[static_cast<size_t>(tok->piece_to_id("<|embed|>"))].type, PieceType::user_defined);
  EXPECT_EQ(info.pieces[static_cast<size_t>(tok->piece_to_id("<0x41>"))].type, PieceType::byte);
  EXPECT_EQ(counts[static_cast<int>(PieceType::byte)], 256);
  EXPECT_EQ(counts[static_cast<int>(PieceType::control)], 3);  // <s>, </s>, <pad>
  EXPECT_EQ(counts[static_cast<int>(PieceType::user_defined)], 2);

  const std::string bytes = read_file(path);
  // Cut inside the first piece, or inside the last field (a cut between two fields would
  // be a valid shorter message).
  for (size_t n : {size_t{0}, size_t{1}, size_t{7}, bytes.size() - 1})
    EXPECT_THROW(parse_sentencepiece_model(bytes.substr(0, n), "cut.model"), Error) << n;
  testing::expect_error_containing([] { parse_sentencepiece_model("\x0f", "x.model"); }, "x.model: not a SentencePiece model");
}

TEST_F(SentencePiece, VocabTooLargeForCorpusIsAClearError) {
  TokenizerTrainOptions o;
  o.inputs = {dir_->path() / "corpus.txt"};
  o.vocab = 100000;
  // SentencePiece's "Vocabulary size too high (100000). Please set it to a value <= N." becomes
  // one line naming the corpus and the largest vocabulary it allows.
  try {
    train_tokenizer(o, dir_->path() / "big.model");
    ADD_FAILURE() << "a vocabulary of 100000 was trained";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("tokenizer train: --vocab 100000 is too large for this corpus (" + (dir_->path() / "corpus.txt").string() +
                           "): it yields at most "),
              std::string::npos)
        << message;
    EXPECT_EQ(message.find("trainer_interface"), std::string::npos) << message;
  }
  EXPECT_FALSE(std::filesystem::exists(dir_->path() / "big.model"));
}

TEST_F(SentencePiece, VocabTooSmallForTheCharactersSaysHowLarge) {
  TokenizerTrainOptions o;
  o.inputs = {dir_->path() / "corpus.txt"};
  o.vocab = 100;  // the 256 byte pieces alone need more
  testing::expect_error_containing([&] { train_tokenizer(o, dir_->path() / "small.model"); },
                                   "tokenizer train: --vocab 100 is too small for " + (dir_->path() / "corpus.txt").string() +
                                       ": its distinct characters and the special pieces need ");
}

// SentencePiece's own statuses used to come through raw ("Internal: ./src/trainer_interface.cc(428)
// [!sentences_.empty()]"); each is now one line naming the file and saying what to do.
TEST(TokenizerErrors, EmptyInputsAndDamagedModelsAreNamed) {
  testing::TempDir dir;
  write_file_atomic(dir.path() / "empty.txt", "");
  TokenizerTrainOptions o;
  o.inputs = {dir.path() / "empty.txt"};
  o.vocab = 300;
  testing::expect_error_containing([&] { train_tokenizer(o, dir.path() / "tok.model"); },
                                   "tokenizer train: " + (dir.path() / "empty.txt").string() + ": no text to train on");
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "tok.model"));
  write_file_atomic(dir.path() / "damaged.model", "\x0a\x05not a model");
  try {
    load_tokenizer((dir.path() / "damaged.model").string());
    ADD_FAILURE() << "a damaged model was loaded";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("tokenizer " + (dir.path() / "damaged.model").string() + ": not a SentencePiece model (damaged, or another "
                           "kind of file); train one with `garden tokenizer train`"),
              std::string::npos)
        << message;
    EXPECT_EQ(message.find("Internal"), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

TEST(TokenizerErrors, MissingFilesAreNamed) {
  testing::expect_error_containing([] { load_tokenizer("/nonexistent/tok.model"); }, "/nonexistent/tok.model: no such file");
  TokenizerTrainOptions o;
  o.inputs = {"/nonexistent/corpus.txt"};
  testing::expect_error_containing([&] { train_tokenizer(o, "/tmp/x.model"); }, "/nonexistent/corpus.txt: no such file");
  o.type = "wordpiece";
  testing::expect_error_containing([&] { train_tokenizer(o, "/tmp/x.model"); }, "--type must be bpe or unigram");
}

}  // namespace
}  // namespace garden::text
