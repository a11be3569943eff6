// garden serve's HTTP transport (cpp-httplib): routes to the Service, the API key, the body
// size limit, error objects for everything the transport refuses itself, server-sent events
// for streams, and a clean stop: SIGTERM or SIGINT stops accepting connections, lets the
// requests in flight finish, and returns.
#pragma once

#include <cstddef>
#include <string>

#include "garden/serve/service.h"

namespace garden::serve {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8000;                     // 0: any free port (printed when ready)
  std::string api_key;                 // empty: no key required
  size_t max_body_bytes = 4u << 20;    // larger bodies get 413
  int http_threads = 32;               // connections handled at once (generation waits for its own slots)
};

// Serves until SIGTERM/SIGINT. Prints "garden serve: listening on http://HOST:PORT ..." to
// stderr once it accepts connections; errors (port taken) are garden::Error.
void run_server(Service& service, const ServerOptions& options);

}  // namespace garden::serve
