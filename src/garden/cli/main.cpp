// garden: one binary, thin subcommands over libgarden.
#include <fmt/core.h>

#include <csignal>

#include "garden/cli/common.h"
#include "garden/core/error.h"
#include "garden/core/runtime.h"
#include "garden/train/trainer.h"

int main(int argc, char** argv) {
  garden::use_known_blas_kernels(argv);
  garden::tune_allocator();
  // Every command uses all cores unless its --threads says otherwise: left alone, this
  // libtorch ran the eval commands on one thread (an eval suite over CISI took 58 s instead of 34 s).
  garden::configure_threads(0);
  CLI::App app{"garden: small language models, embeddings and retrieval, with the papers' findings reproducible"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "garden 0.1.0");
  garden::cli::register_data(app);
  garden::cli::register_tokenizer(app);
  garden::cli::register_lm(app);
  garden::cli::register_index(app);
  garden::cli::register_eval(app);
  garden::cli::register_repro(app);
  garden::cli::register_succinct(app);
  garden::cli::register_limit(app);
  garden::cli::register_embed(app);
  garden::cli::register_serve(app);
  garden::cli::register_export(app);
  garden::cli::register_collapse(app);
  garden::cli::register_dsi(app);
  garden::cli::register_llm2vec_gen(app);
  garden::cli::register_rag(app);
  garden::cli::register_agent(app);
  garden::cli::register_wiki(app);
  garden::cli::register_launch(app);
  garden::cli::register_rl(app);
  garden::cli::register_creative(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "garden: usage error: {} (see --help)\n", e.what());
    return 2;
  } catch (const garden::Error& e) {
    fmt::print(stderr, "garden: {}{}\n", e.kind() == garden::ErrorKind::usage ? "usage error: " : "error: ", e.what());
    return e.kind() == garden::ErrorKind::usage ? 2 : 1;
  } catch (const c10::Error& e) {
    fmt::print(stderr, "garden: error: libtorch: {}\n", e.what_without_backtrace());
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "garden: error: {}\n", e.what());
    return 1;
  }
  // 128 + SIGINT, as if the signal had ended the process, so that `train && eval` stops after
  // a Ctrl-C; a --stop-after stop is a success.
  return garden::train::interrupted_by_signal() ? 128 + SIGINT : 0;
}
