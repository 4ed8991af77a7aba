// The admin listener: a small HTTP server on its own thread for operators: /metrics,
// /rstatus, /tasks, /hc, the admin page (/admin) and its JSON (/api/...).
//
// Separate from the public listener so that it can stay on loopback, and so that its
// handlers may block (they query Redis and stat files) without touching the collector's I/O
// threads. Requests are answered one at a time; this is not a hot path.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "config/config.h"
#include "util/status.h"

namespace oceanus::http {

struct AdminResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};
// One request as the handler sees it; the views live until the handler returns.
struct AdminRequest {
  std::string_view method;  // "GET", "POST", ...
  std::string path;
  std::string query;  // without the '?'
  std::string_view content_type;
  std::string_view body;
  bool authenticated = false;  // a token is configured and the request carried it
};
using AdminHandler = std::function<AdminResponse(const AdminRequest& request)>;

class AdminServer {
 public:
  static Result<std::unique_ptr<AdminServer>> Start(const config::AdminConfig& config,
                                                    AdminHandler handler);
  ~AdminServer();
  std::uint16_t port() const;
  struct Impl;

 private:
  explicit AdminServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace oceanus::http
