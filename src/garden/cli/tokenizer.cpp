// garden tokenizer train | encode | decode (SentencePiece; "bytes" for the byte tokenizer).
#include <fmt/core.h>

#include <iostream>
#include <iterator>
#include <sstream>

#include "garden/cli/common.h"
#include "garden/core/error.h"
#include "garden/text/tokenizer.h"

namespace garden::cli {

namespace {
std::string read_stdin() { return {std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()}; }
}  // namespace

void register_tokenizer(CLI::App& app) {
  auto* tok = app.add_subcommand("tokenizer", "train and apply SentencePiece tokenizers");
  tok->require_subcommand(1);

  auto train_options = std::make_shared<text::TokenizerTrainOptions>();
  auto train_out = std::make_shared<std::string>();
  auto inputs = std::make_shared<std::vector<std::string>>();
  auto* train = tok->add_subcommand("train", "train a BPE or unigram model");
  train->add_option("--input", *inputs, "text files, one sentence a line")->required();
  train->add_option("--vocab", train_options->vocab, "vocabulary size")->capture_default_str();
  train->add_option("--type", train_options->type, "bpe | unigram")->capture_default_str();
  train->add_option("--out", *train_out, "output .model file")->required();
  train->add_option("--special", train_options->user_symbols, "extra tokens kept whole, e.g. '<|embed|>' '<mask>'");
  train->add_option("--unk-id", train_options->unk_id)->capture_default_str();
  train->add_option("--bos-id", train_options->bos_id, "-1 disables")->capture_default_str();
  train->add_option("--eos-id", train_options->eos_id, "-1 disables")->capture_default_str();
  train->add_option("--pad-id", train_options->pad_id, "-1 disables")->capture_default_str();
  train->add_option("--max-sentences", train_options->max_sentences, "lines sampled for training")->capture_default_str();
  train->callback([=] {
    for (const auto& input : *inputs) train_options->inputs.emplace_back(input);
    text::train_tokenizer(*train_options, *train_out);
    auto model = text::load_tokenizer(*train_out);
    fmt::print("wrote {} (vocab {}, bos {}, eos {}, pad {})\n", *train_out, model->vocab_size(), model->bos_id(),
               model->eos_id(), model->pad_id());
  });

  struct CodecOptions {
    std::string model, text;
    bool pieces = false;
  };
  auto codec = std::make_shared<CodecOptions>();
  auto* encode = tok->add_subcommand("encode", "text (--text or stdin) to ids, one line of ids per input line");
  encode->add_option("--model", codec->model, "SentencePiece .model, or 'bytes'")->required();
  encode->add_option("--text", codec->text, "text to encode (default: stdin)");
  encode->callback([codec] {
    auto tokenizer = text::load_tokenizer(codec->model);
    std::istringstream lines(codec->text.empty() ? read_stdin() : codec->text);
    std::string line;
    while (std::getline(lines, line)) {
      std::string out;
      for (auto id : tokenizer->encode(line)) {
        if (!out.empty()) out += ' ';
        out += std::to_string(id);
      }
      fmt::print("{}\n", out);
    }
  });
  auto* decode = tok->add_subcommand("decode", "ids (--text or stdin, space separated) to text, line by line");
  decode->add_option("--model", codec->model, "SentencePiece .model, or 'bytes'")->required();
  decode->add_option("--text", codec->text, "ids to decode (default: stdin)");
  decode->callback([codec] {
    auto tokenizer = text::load_tokenizer(codec->model);
    std::istringstream lines(codec->text.empty() ? read_stdin() : codec->text);
    std::string line;
    for (int64_t number = 1; std::getline(lines, line); ++number) {
      std::istringstream fields(line);
      std::vector<int64_t> ids;
      std::string field;
      while (fields >> field) {
        size_t used = 0;
        int64_t id = -1;
        try {
          id = std::stoll(field, &used);
        } catch (const std::logic_error&) {
        }
        if (used != field.size() || id < 0) usage_error(fmt::format("decode: line {}: '{}' is not a token id", number, field));
        ids.push_back(id);
      }
      fmt::print("{}\n", tokenizer->decode(ids));
    }
  });
}

}  // namespace garden::cli
