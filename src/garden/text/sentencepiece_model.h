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

}  // namespace garden::text
