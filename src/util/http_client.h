// A blocking HTTP client (libcurl) for the parts of oceanus that call out: Google's APIs,
// webhooks. Never used on an I/O thread. Transport failures (refused, timeout, TLS) are
// kUnavailable; any HTTP answer, whatever its status, is a result for the caller to judge.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "util/status.h"

namespace oceanus {

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{30'000};
};

struct HttpResponse {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-cased
};

// How the connection is made, for the callers that need more than the defaults.
struct HttpTransport {
  std::string ca_file;  // PEM CA bundle to verify an https server with; empty: the system's
};

Result<HttpResponse> HttpFetch(const HttpRequest& request);
Result<HttpResponse> HttpFetch(const HttpRequest& request, const HttpTransport& transport);

// application/x-www-form-urlencoded encoding of one value.
std::string FormEncode(std::string_view value);

}  // namespace oceanus
