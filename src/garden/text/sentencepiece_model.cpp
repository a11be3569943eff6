#include "garden/text/sentencepiece_model.h"

#include <fmt/core.h>

#include <cstring>

#include "garden/core/error.h"
#include "garden/core/files.h"

namespace garden::text {

namespace {

// The protobuf wire format (protobuf.dev/programming-guides/encoding): each field is a varint
// key (number << 3 | wire type) followed by a varint (0), 8 bytes (1), a varint length and
// that many bytes (2), or 4 bytes (5).
class Wire {
 public:
  Wire(const std::string& bytes, size_t begin, size_t end, const std::string& where)
      : bytes_(bytes), pos_(begin), end_(end), where_(where) {}
  bool done() const { return pos_ >= end_; }
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(fmt::format("{}: not a SentencePiece model: {} (at byte {})", where_, what, pos_));
  }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= end_) fail("truncated varint");
      const auto byte = static_cast<unsigned char>(bytes_[pos_++]);
      v |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return v;
    }
    fail("varint longer than 10 bytes");
  }
  // Reads a field's key; the caller then reads its value with one of the calls below.
  void key(uint32_t& number, uint32_t& wire_type) {
    const uint64_t k = varint();
    number = static_cast<uint32_t>(k >> 3);
    wire_type = static_cast<uint32_t>(k & 7);
  }
  // The [begin, end) of a length-delimited value.
  std::pair<size_t, size_t> span() {
    const uint64_t n = varint();
    if (n > end_ - pos_) fail("a field runs past its message");
    const size_t begin = pos_;
    pos_ += n;
    return {begin, pos_};
  }
  float fixed32_float() {
    if (end_ - pos_ < 4) fail("truncated float");
    uint32_t bits = 0;
    for (int i = 0; i < 4; ++i) bits |= static_cast<uint32_t>(static_cast<unsigned char>(bytes_[pos_ + i])) << (8 * i);
    pos_ += 4;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
  }
  void skip(uint32_t wire_type) {
    switch (wire_type) {
      case 0: varint(); return;
      case 1: advance(8); return;
      case 2: span(); return;
      case 5: advance(4); return;
      default: fail(fmt::format("wire type {}", wire_type));
    }
  }

 private:
  void advance(size_t n) {
    if (end_ - pos_ < n) fail("truncated field");
    pos_ += n;
  }
  const std::string& bytes_;
  size_t pos_, end_;
  const std::string& where_;
};

// Reads every field of the message in `span`: `on_field(wire, number, wire_type)` reads the
// value of a field it wants and returns true; the others are skipped.
template <typename OnField>
void each_field(const std::string& bytes, std::pair<size_t, size_t> span, const std::string& where, OnField&& on_field) {
  Wire w(bytes, span.first, span.second, where);
  while (!w.done()) {
    uint32_t number, wire_type;
    w.key(number, wire_type);
    if (!on_field(w, number, wire_type)) w.skip(wire_type);
  }
}

}  // namespace

SentencePieceModelInfo parse_sentencepiece_model(const std::string& bytes, const std::string& where) {
  SentencePieceModelInfo info;
  each_field(bytes, {0, bytes.size()}, where, [&](Wire& w, uint32_t number, uint32_t wire_type) {
    if (wire_type != 2 || number < 1 || number > 3) return false;
    const auto span = w.span();
    if (number == 1) {  // SentencePiece
      auto& entry = info.pieces.emplace_back();
      each_field(bytes, span, where, [&](Wire& p, uint32_t n, uint32_t t) {
        if (n == 1 && t == 2) {
          auto [b, e] = p.span();
          entry.piece = bytes.substr(b, e - b);
        } else if (n == 2 && t == 5) {
          entry.score = p.fixed32_float();
        } else if (n == 3 && t == 0) {
          const uint64_t type = p.varint();
          if (type < 1 || type > 6) p.fail(fmt::format("piece type {}", type));
          entry.type = static_cast<PieceType>(type);
        } else {
          return false;
        }
        return true;
      });
    } else if (number == 2) {  // TrainerSpec
      each_field(bytes, span, where, [&](Wire& spec, uint32_t n, uint32_t t) {
        if (n == 3 && t == 0) {
          static const char* types[] = {"?", "unigram", "bpe", "word", "char"};
          const uint64_t type = spec.varint();
          if (type < 1 || type > 4) spec.fail(fmt::format("model type {}", type));
          info.model_type = types[type];
        } else if (n == 35 && t == 0) {
          info.byte_fallback = spec.varint() != 0;
        } else {
          return false;
        }
        return true;
      });
    } else {  // NormalizerSpec
      each_field(bytes, span, where, [&](Wire& spec, uint32_t n, uint32_t t) {
        if (n == 3 && t == 0)
          info.add_dummy_prefix = spec.varint() != 0;
        else if (n == 4 && t == 0)
          info.remove_extra_whitespaces = spec.varint() != 0;
        else
          return false;
        return true;
      });
    }
    return true;
  });
  if (info.pieces.empty()) throw Error(where + ": not a SentencePiece model: no pieces");
  return info;
}

SentencePieceModelInfo read_sentencepiece_model(const std::filesystem::path& path) {
  if (!std::filesystem::is_regular_file(path)) throw Error("tokenizer " + path.string() + ": no such file");
  return parse_sentencepiece_model(read_file(path), path.string());
}

namespace {

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

// One ModelProto.pieces entry: SentencePiece {piece = 1 (bytes), score = 2 (float), type = 3 (enum)}.
std::string piece_field(const std::string& piece, float score, PieceType type) {
  std::string body;
  put_varint(body, (1 << 3) | 2);
  put_varint(body, piece.size());
  body += piece;
  put_varint(body, (2 << 3) | 5);
  char bytes[4];
  std::memcpy(bytes, &score, 4);  // little-endian, as protobuf's fixed32 (x86 and ARM)
  body.append(bytes, 4);
  put_varint(body, (3 << 3) | 0);
  put_varint(body, static_cast<uint64_t>(type));
  std::string field;
  put_varint(field, (1 << 3) | 2);
  put_varint(field, body.size());
  return field + body;
}

}  // namespace

std::vector<int64_t> append_user_pieces(const std::filesystem::path& source, const std::filesystem::path& dest,
                                        const std::vector<std::string>& pieces) {
  if (!std::filesystem::is_regular_file(source)) throw Error("tokenizer " + source.string() + ": no such file");
  std::string bytes = read_file(source);
  auto info = parse_sentencepiece_model(bytes, source.string());
  std::vector<int64_t> ids;
  for (const auto& piece : pieces) {
    if (piece.empty()) throw Error("a tokenizer piece cannot be empty");
    int64_t id = -1;
    for (size_t i = 0; i < info.pieces.size() && id < 0; ++i)
      if (info.pieces[i].piece == piece) id = static_cast<int64_t>(i);
    if (id < 0) {
      id = static_cast<int64_t>(info.pieces.size());
      info.pieces.push_back({piece, 0.0f, PieceType::user_defined});
      bytes += piece_field(piece, 0.0f, PieceType::user_defined);
    }
    ids.push_back(id);
  }
  write_file_atomic(dest, bytes);
  return ids;
}

}  // namespace garden::text
