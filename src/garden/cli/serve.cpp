// garden serve: the OpenAI-compatible HTTP server (serve/server.h) over a language model, an
// embedding model and indexes.
#include <fmt/core.h>

#include "garden/cli/common.h"
#include "garden/core/runtime.h"
#include "garden/serve/server.h"
#include "garden/serve/service.h"

namespace garden::cli {

void register_serve(CLI::App& app) {
  struct ServeCommand {
    RuntimeOptions runtime;
    std::string model, embedder;
    std::vector<std::string> indexes;
    serve::ServiceOptions service;
    serve::ServerOptions server;
  };
  auto cmd = std::make_shared<ServeCommand>();
  auto* serve = app.add_subcommand("serve", "an OpenAI-compatible HTTP server: /v1/models, /v1/embeddings, /v1/completions, "
                                            "/v1/chat/completions, and /search (docs/serve.md)");
  serve->add_option("--model", cmd->model, "language model or run folder (completions, chat)")->required();
  serve->add_option("--embedder", cmd->embedder, "embedding model or run folder (embeddings, dense search)");
  serve->add_option("--index", cmd->indexes, "index folders for /search: bm25, dense (built with --embedder), fusion");
  serve->add_option("--host", cmd->server.host, "address to listen on")->capture_default_str();
  serve->add_option("--port", cmd->server.port, "port (0 = any free one, printed)")->capture_default_str();
  serve->add_option("--api-key", cmd->server.api_key, "require 'Authorization: Bearer KEY' (default: $GARDEN_API_KEY; none)")
      ->envname("GARDEN_API_KEY");
  serve->add_option("--max-generations", cmd->service.max_generations, "generation requests decoded at once; more wait")
      ->capture_default_str();
  serve->add_option("--batch-rows", cmd->service.batch_rows, "texts per shared embedding pass at most")->capture_default_str();
  serve->add_option("--batch-wait-ms", cmd->service.batch_wait_ms, "how long an embedding request waits for others to share its pass")
      ->capture_default_str();
  serve->add_option("--max-body", cmd->server.max_body_bytes, "largest request body in bytes (413 above)")->capture_default_str();
  serve->add_option("--http-threads", cmd->server.http_threads, "connections handled at once")->capture_default_str();
  add_runtime_options(*serve, cmd->runtime);
  serve->callback([cmd] {
    configure_threads(cmd->runtime.threads);
    cmd->service.model = cmd->model;
    cmd->service.embedder = cmd->embedder;
    for (const auto& index : cmd->indexes) cmd->service.indexes.push_back(index);
    cmd->service.device = cmd->runtime.device;
    serve::Service service(cmd->service);
    serve::run_server(service, cmd->server);
  });
}

}  // namespace garden::cli
