// What a SentencePiece .model file says about its vocabulary, read straight from the file
// (a serialized sentencepiece.ModelProto) so that an exporter can copy every piece with its
// score and type. The SentencePiece API answers scores and unknown/control/byte/unused, but
// not user-defined, and llama.cpp must know user-defined pieces (it matches them whole in
// text, as SentencePiece does); the proto has all of it. Only the fields garden needs are
// decoded; the rest of the protobuf wire format is skipped.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace garden::text {

// SentencePiece's piece types, numbered as in sentencepiece_model.proto; llama.cpp's GGUF
// token types use the same numbers.
enum class PieceType : int32_t { normal = 1, unknown = 2, control = 3, user_defined = 4, unused = 5, byte = 6 };

struct SentencePieceEntry {
  std::string piece;
  float score = 0.0f;
  PieceType type = PieceType::normal;
};

struct SentencePieceModelInfo {
  std::vector<SentencePieceEntry> pieces;  // in id order
  std::string model_type = "unigram";      // unigram | bpe | word | char
  bool byte_fallback = false;
  bool add_dummy_prefix = true;            // a space is put before the text ("▁" on the first word)
  bool remove_extra_whitespaces = true;
};

// Parses a .model file's bytes; errors name `where`.
SentencePieceModelInfo parse_sentencepiece_model(const std::string& bytes, const std::string& where);
SentencePieceModelInfo read_sentencepiece_model(const std::filesystem::path& path);

// Writes to `dest` the model in `source` with `pieces` appended as user-defined pieces (kept
// whole in text, as `garden tokenizer train --special` makes them) at the next ids; pieces
// the model already has are skipped. The existing ids do not move, so a model trained with
// the source tokenizer keeps its meaning once its embedding table has rows for the new ids
// (GritLM's <|user|>, <|embed|> and <|assistant|> added to a pretrained LM). Protobuf
// parsers append a repeated field's later occurrences, so the pieces go at the file's end.
// Returns the id of every piece of `pieces`, new or old.
std::vector<int64_t> append_user_pieces(const std::filesystem::path& source, const std::filesystem::path& dest,
                                        const std::vector<std::string>& pieces);

}  // namespace garden::text
