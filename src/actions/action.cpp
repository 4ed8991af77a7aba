// Shared pieces of the actions.
#include "actions/action.h"

namespace oceanus::actions {

Status HttpStatusToResult(const std::string& what, long status, const std::string& body) {
  if (status >= 200 && status < 300) return Status::Ok();
  std::string snippet = body.substr(0, 300);
  for (char& c : snippet)
    if (c == '\n' || c == '\r') c = ' ';
  std::string msg = what + " answered " + std::to_string(status) + ": " + snippet;
  if (status == 408 || status == 429 || status >= 500) return Status::Unavailable(std::move(msg));
  return Status::InvalidArgument(std::move(msg));
}

std::string RedactUrl(const std::string& url) {
  // scheme://host[:port] is enough to say where; the path of a webhook URL is its secret.
  const std::size_t scheme = url.find("://");
  if (scheme == std::string::npos) return "<url>";
  const std::size_t path = url.find('/', scheme + 3);
  std::string host = url.substr(0, path);
  if (const std::size_t at = host.find('@'); at != std::string::npos)
    host = host.substr(0, scheme + 3) + host.substr(at + 1);  // user:password@ too
  return path == std::string::npos ? host : host + "/…";
}

std::string Redact(std::string message, const std::string& secret, const std::string& shown) {
  if (secret.empty()) return message;
  for (std::size_t at = message.find(secret); at != std::string::npos;
       at = message.find(secret, at + shown.size()))
    message.replace(at, secret.size(), shown);
  return message;
}

}  // namespace oceanus::actions
