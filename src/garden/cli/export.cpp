// garden export gguf: a garden LM as a GGUF file for llama.cpp (model/gguf_export.h).
#include <fmt/core.h>

#include "garden/cli/common.h"
#include "garden/model/gguf_export.h"
#include "garden/train/run_folder.h"

namespace garden::cli {

void register_export(CLI::App& app) {
  struct GgufCommand {
    std::string model, out, dtype = "f32";
  };
  auto cmd = std::make_shared<GgufCommand>();
  auto* group = app.add_subcommand("export", "write models in other tools' formats");
  group->require_subcommand(1);
  auto* gguf = group->add_subcommand("gguf", "a language model as GGUF v3 for llama.cpp (llama architecture; docs/serve.md)");
  gguf->add_option("--model", cmd->model, "model or run folder (RMSNorm, RoPE, SwiGLU, SentencePiece tokenizer)")->required();
  gguf->add_option("--out", cmd->out, ".gguf file to write")->required();
  gguf->add_option("--dtype", cmd->dtype, "f32 | f16 (matrices; norm weights stay f32)")->capture_default_str();
  gguf->callback([cmd] {
    const auto dtype = model::parse_gguf_dtype(cmd->dtype);
    auto summary = model::export_gguf(train::model_folder(cmd->model), cmd->out, dtype);
    for (const auto& warning : summary.warnings) fmt::print(stderr, "garden: warning: {}\n", warning);
    fmt::print("wrote {} ({} tensors, {} parameters, vocab {}, {}, {:.1f} MB)\n", cmd->out, summary.tensors,
               summary.parameters, summary.vocab, cmd->dtype, static_cast<double>(summary.bytes) / 1e6);
  });
}

}  // namespace garden::cli
