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

#include "config/config.h"
#include "util/status.h"

namespace oceanus::http {

struct AdminResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};
// (path, query without the '?') → answer.
using AdminHandler =
    std::function<AdminResponse(const std::string& path, const std::string& query)>;

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
