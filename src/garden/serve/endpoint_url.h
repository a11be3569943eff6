// The chat completions address of an OpenAI-compatible server, from the base URL users give
// (e.g. http://127.0.0.1:8000/v1): the origin an HTTP client connects to and the path it posts
// to. Shared by every client of such servers (the multi-turn evaluation's assistant, the agent).
#pragma once

#include <string>

namespace garden::serve {

struct ChatEndpoint {
  std::string origin;  // "http://host:port"
  std::string path;    // "/v1/chat/completions"
};

// A usage error naming `base_url` unless it is an http:// or https:// URL.
ChatEndpoint chat_endpoint(std::string base_url);

}  // namespace garden::serve
