// serve/api.cpp: the HTTP request bodies of garden serve (parse_body, then the completion,
// chat, embedding and search request parsers on the same body). The server's contract for
// any body: a parsed request or an ApiError with a 4xx status and a message, whose error
// object serialises; anything else would reach the client as a 500 or a dropped connection.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "garden/serve/api.h"

namespace {

template <typename Fn>
void parsed_or_api_error(Fn&& parse) {
  try {
    parse();
  } catch (const garden::serve::ApiError& e) {
    if (e.status < 400 || e.status > 499 || std::string(e.what()).empty()) {
      std::fprintf(stderr, "ApiError breaks the contract (a 4xx with a message): %d %s\n", e.status, e.what());
      std::abort();
    }
    garden::serve::dump_json(garden::serve::error_body(e));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  garden::Json json;
  try {
    json = garden::serve::parse_body(body);
  } catch (const garden::serve::ApiError& e) {
    parsed_or_api_error([&] { throw e; });
    return 0;
  }
  garden::serve::dump_json(json);
  parsed_or_api_error([&] { garden::serve::parse_completion_request(json); });
  parsed_or_api_error([&] { garden::serve::parse_chat_request(json); });
  parsed_or_api_error([&] { garden::serve::parse_embedding_request(json); });
  parsed_or_api_error([&] { garden::serve::parse_search_request(json); });
  return 0;
}
