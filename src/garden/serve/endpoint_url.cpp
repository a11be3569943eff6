#include "garden/serve/endpoint_url.h"

#include "garden/core/error.h"

namespace garden::serve {

ChatEndpoint chat_endpoint(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos || (url.substr(0, scheme_end) != "http" && url.substr(0, scheme_end) != "https"))
    usage_error("--endpoint must be an http:// or https:// URL such as http://127.0.0.1:8000/v1, got '" + url + "'");
  const auto path_start = url.find('/', scheme_end + 3);
  return {url.substr(0, path_start), (path_start == std::string::npos ? std::string() : url.substr(path_start)) + "/chat/completions"};
}

}  // namespace garden::serve
