// text/tokenizer.cpp: SentencePiece encoding of arbitrary bytes through garden's wrapper
// (SentencePieceTokenizer::encode, then decode). The model is trained once, at start-up, on a
// few built-in lines. With the identity normaliser and byte fallback, valid UTF-8 must come
// back unchanged.
#include <cstring>

#include "fuzz_input.h"
#include "garden/text/tokenizer.h"

namespace {

bool valid_utf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    uint32_t code = n == 1 ? c : c & (0x7f >> n);
    for (size_t k = 1; k < n; ++k) {
      const auto next = static_cast<unsigned char>(s[i + k]);
      if ((next >> 6) != 0x2) return false;
      code = (code << 6) | (next & 0x3f);
    }
    const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < least[n] || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return false;
    i += n;
  }
  return true;
}

const garden::text::SentencePieceTokenizer* tokenizer = nullptr;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const auto text = garden::fuzz::write_input(
      "train.txt", std::string("In the beginning God created the heaven and the earth.\n"
                               "And the earth was without form, and void; and darkness was upon the face of the deep.\n"
                               "dog, domestic dog: a member of the genus Canis; \"the dog barked all night\"\n"
                               "Zahlen 0123456789, Umlaute äöü ß, 日本語のテキスト, emoji 🙂.\n"));
  garden::text::TokenizerTrainOptions options;
  options.inputs = {text};
  options.vocab = 360;
  options.user_symbols = {"<|embed|>", "<mask>"};
  const auto model = garden::fuzz::scratch_dir() / "tokenizer.model";
  garden::text::train_tokenizer(options, model);
  tokenizer = new garden::text::SentencePieceTokenizer(model);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  garden::fuzz::result_or_error(tokenizer->spec(), [&] {
    const auto ids = tokenizer->encode(input);
    const std::string back = tokenizer->decode(ids);
    if (valid_utf8(input) && back != input) {
      std::fprintf(stderr, "decode(encode(text)) != text for valid UTF-8 (%zu bytes in, %zu out)\n", input.size(), back.size());
      std::abort();
    }
  });
  return 0;
}
