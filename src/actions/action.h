// An action: what a task does in the world (post to a webhook or Slack, send a mail, append
// a spreadsheet row, mail a visitor's history).
//
// Actions are built once from the config's `actions:` and run by the worker on its pool
// threads, several at once: Run must be thread-safe. The status decides what happens next:
// OK = delivered; retryable (kUnavailable, kIoError: a timeout, a 5xx, a 429, a 4xx SMTP
// reply) = try again after a backoff; anything else (a 400, a bad address, a template that
// cannot render) = it will never succeed, so the task goes to the dead-letter at once with
// the reason.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "tasks/task.h"
#include "util/status.h"

namespace oceanus::actions {

class Action {
 public:
  virtual ~Action() = default;
  virtual Status Run(const tasks::Task& task) = 0;
};

using ActionMap = std::map<std::string, std::unique_ptr<Action>, std::less<>>;

// Classifies an HTTP answer from a service: 2xx OK; 408, 429 and 5xx retryable; other 4xx
// permanent. `what` names the service in the message, with a snippet of the body.
Status HttpStatusToResult(const std::string& what, long status, const std::string& body);

// "https://hooks.slack.com/…": where a URL points, without the path or credentials that
// make it a secret (webhook URLs are bearer credentials; they never reach the logs).
std::string RedactUrl(const std::string& url);
// `message` with every occurrence of `secret` replaced by `shown`.
std::string Redact(std::string message, const std::string& secret, const std::string& shown);

}  // namespace oceanus::actions
