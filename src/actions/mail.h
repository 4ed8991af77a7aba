// mail: send a message by SMTP (libcurl: STARTTLS, AUTH) or through SendGrid's v3 API.
//
// A Mailer delivers one Mail; the `smtp` and `sendgrid` actions are a MailAction over one
// of them, and history_report borrows the mailer its config names. A step's arguments:
// `subject`, `text` and/or `html`, and optionally `to` (a list, or "a@x, b@y") in place of
// the action's default recipients.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "actions/action.h"
#include "app/config.h"

namespace oceanus::actions {

struct Mail {
  std::string from;
  std::vector<std::string> to;
  std::string subject;
  std::string text;  // text/plain part ("" = none)
  std::string html;  // text/html part ("" = none)
};

class Mailer {
 public:
  virtual ~Mailer() = default;
  // OK once the server accepted it. Retryable: the server is unreachable or answered 4xx
  // (SMTP) / 5xx or 429 (HTTP).
  virtual Status Send(const Mail& mail) = 0;
  virtual const actions::ActionConfig& config() const = 0;
};

// RFC 5322 text of `mail`: UTF-8 subject as RFC 2047 base64, a multipart/alternative body
// when it has both parts, each part base64 (lines of 76). `date` and `message_id` given by
// the caller so that tests can pin them.
std::string BuildMimeMessage(const Mail& mail, const std::string& date,
                             const std::string& message_id);

class SmtpMailer final : public Mailer {
 public:
  explicit SmtpMailer(const actions::ActionConfig& config) : config_(config) {}
  Status Send(const Mail& mail) override;
  const actions::ActionConfig& config() const override { return config_; }

 private:
  const actions::ActionConfig& config_;
};

class SendGridMailer final : public Mailer {
 public:
  explicit SendGridMailer(const actions::ActionConfig& config) : config_(config) {}
  Status Send(const Mail& mail) override;
  const actions::ActionConfig& config() const override { return config_; }

 private:
  const actions::ActionConfig& config_;
};

std::unique_ptr<Mailer> MakeMailer(const actions::ActionConfig& config);

// Reads subject/text/html/to from a task's arguments into `mail` (recipients default to
// `default_to`). InvalidArgument when there is nobody to send to or nothing to send.
Status MailFromArgs(const std::string& args_json, const actions::ActionConfig& mailer,
                    const std::vector<std::string>& default_to, Mail& mail, bool need_body);

class MailAction final : public Action {
 public:
  explicit MailAction(std::unique_ptr<Mailer> mailer) : mailer_(std::move(mailer)) {}
  Status Run(const tasks::Task& task) override;

 private:
  std::unique_ptr<Mailer> mailer_;
};

}  // namespace oceanus::actions
