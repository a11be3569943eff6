#include "garden/serve/server.h"

#include <fmt/core.h>
#include <httplib.h>
#include <sys/socket.h>

#include <atomic>
#include <csignal>
#include <thread>

#include "garden/core/error.h"

namespace garden::serve {

namespace {

std::atomic<bool> stop_requested{false};
extern "C" void on_stop_signal(int) { stop_requested = true; }

void send_json(httplib::Response& res, int status, const Json& body) {
  res.status = status;
  res.set_content(dump_json(body), "application/json");
}

void send_error(httplib::Response& res, const ApiError& error) { send_json(res, error.status, error_body(error)); }

// Runs a handler, turning every failure into an error object: the client's (ApiError, a
// garden usage error) as 4xx, anything else as a 500 that names it.
void guarded(httplib::Response& res, const std::function<void()>& handler) {
  try {
    handler();
  } catch (const ApiError& e) {
    send_error(res, e);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::usage) send_error(res, ApiError(400, e.what()));
    else send_error(res, ApiError(500, e.what(), "server_error"));
  } catch (const std::exception& e) {
    send_error(res, ApiError(500, e.what(), "server_error"));
  }
}

// Equal in time whatever the first difference, so the key cannot be guessed byte by byte.
bool same_key(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i % std::max<size_t>(1, b.size())]);
  return diff == 0;
}

void generation_route(httplib::Server& server, const char* path, Service& service, bool chat) {
  server.Post(path, [&service, chat](const httplib::Request& req, httplib::Response& res) {
    guarded(res, [&] {
      const Json body = parse_body(req.body);
      auto job = chat ? service.prepare_chat(body) : service.prepare_completion(body);
      if (!service.streams(*job)) return send_json(res, 200, service.run(*job));
      res.set_header("Cache-Control", "no-cache");
      res.set_chunked_content_provider("text/event-stream", [&service, job](size_t, httplib::DataSink& sink) {
        const auto write = [&](const std::string& event) { return sink.is_writable() && sink.write(event.data(), event.size()); };
        try {
          service.stream(*job, write);
        } catch (const std::exception& e) {  // after the headers: the error travels as an event
          write(sse_event(error_body(ApiError(500, e.what(), "server_error"))));
        }
        sink.done();
        return true;
      });
    });
  });
}

}  // namespace

void run_server(Service& service, const ServerOptions& options) {
  httplib::Server server;
  server.new_task_queue = [threads = options.http_threads] { return new httplib::ThreadPool(static_cast<size_t>(std::max(2, threads))); };
  server.set_payload_max_length(options.max_body_bytes);
  // Headers and body go out in separate writes; with Nagle's algorithm on, the body waits for
  // the client's delayed ACK, ~40 ms per request on a kept-alive connection (measured with
  // wrk: a BM25 search answered in 42 ms instead of under 1).
  server.set_tcp_nodelay(true);
  // cpp-httplib closes a kept-alive connection after 5 requests by default, and listens with a
  // backlog of 5 (fixed when the library was built): with many clients, connects overflowed it
  // and waited a second or more for the SYN to be retried (wrk at 64 connections timed out).
  // Connections stay open, and the backlog is raised once the socket listens (below).
  server.set_keep_alive_max_count(100000);
  int listening_socket = -1;
  server.set_socket_options([&listening_socket](socket_t sock) {
    httplib::default_socket_options(sock);
    listening_socket = sock;  // the last socket offered is the one bound
  });
  server.set_keep_alive_timeout(2);  // an idle keep-alive connection delays a stop at most this long
  if (!options.api_key.empty()) {
    server.set_pre_routing_handler([key = options.api_key](const httplib::Request& req, httplib::Response& res) {
      const std::string header = req.get_header_value("Authorization");
      const std::string bearer = "Bearer ";
      if (header.empty()) {
        send_error(res, ApiError(401, "You didn't provide an API key: send it as 'Authorization: Bearer KEY'", "invalid_request_error"));
      } else if (header.rfind(bearer, 0) != 0 || !same_key(header.substr(bearer.size()), key)) {
        send_error(res, ApiError(401, "Incorrect API key provided", "invalid_request_error", "", "invalid_api_key"));
      } else {
        return httplib::Server::HandlerResponse::Unhandled;
      }
      return httplib::Server::HandlerResponse::Handled;
    });
  }
  // Statuses the transport sets itself (unknown route, body too large) get an error object;
  // the handlers' own error bodies are left as they are.
  server.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) send_error(res, transport_error(res.status));
  });
  server.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    send_error(res, ApiError(500, "the server failed to handle the request", "server_error"));
  });

  server.Get("/v1/models", [&service](const httplib::Request&, httplib::Response& res) { send_json(res, 200, service.models()); });
  server.Get(R"(/v1/models/(.+))", [&service](const httplib::Request& req, httplib::Response& res) {
    guarded(res, [&] { send_json(res, 200, service.model(req.matches[1])); });
  });
  server.Post("/v1/embeddings", [&service](const httplib::Request& req, httplib::Response& res) {
    guarded(res, [&] { send_json(res, 200, service.embeddings(parse_body(req.body))); });
  });
  generation_route(server, "/v1/completions", service, false);
  generation_route(server, "/v1/chat/completions", service, true);
  server.Post("/search", [&service](const httplib::Request& req, httplib::Response& res) {
    guarded(res, [&] { send_json(res, 200, service.search(parse_body(req.body))); });
  });
  server.Get("/health", [](const httplib::Request&, httplib::Response& res) { send_json(res, 200, Json{{"status", "ok"}}); });

  int port = options.port;
  if (port == 0) {
    port = server.bind_to_any_port(options.host);
    if (port < 0) throw Error(fmt::format("serve: cannot listen on {}", options.host));
  } else if (!server.bind_to_port(options.host, port)) {
    throw Error(fmt::format("serve: cannot listen on {}:{} (in use, or not an address of this machine)", options.host, port));
  }
  if (listening_socket >= 0) ::listen(listening_socket, SOMAXCONN);  // listen() again only resizes the backlog

  stop_requested = false;
  struct sigaction action {}, old_term {}, old_int {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, &old_term);
  sigaction(SIGINT, &action, &old_int);
  // The handler only sets a flag; this thread turns it into a stop.
  std::atomic<bool> done{false};
  std::thread watcher([&] {
    while (!done) {
      if (stop_requested && server.is_running()) {  // a signal before listening is acted on once it listens
        fmt::print(stderr, "garden serve: stopping; finishing the requests in flight\n");
        server.stop();
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  fmt::print(stderr, "garden serve: listening on http://{}:{} ({})\n", options.host, port, service.describe());
  std::fflush(stderr);
  const bool ok = server.listen_after_bind();  // returns once stopped and the workers are done
  done = true;
  watcher.join();
  sigaction(SIGTERM, &old_term, nullptr);
  sigaction(SIGINT, &old_int, nullptr);
  if (!ok && !stop_requested) throw Error("serve: the server stopped unexpectedly");
  fmt::print(stderr, "garden serve: stopped\n");
}

}  // namespace garden::serve
