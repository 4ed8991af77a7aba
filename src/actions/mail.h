// mail: what the mail actions (smtp, sendgrid: actions/smtp/, actions/sendgrid/) share.
//
// A Mailer delivers one Mail; an smtp or sendgrid action is a MailAction over its mailer,
// and history_report borrows the mailer of the action it names, which is any action whose
// settings are MailerSettings. A step's arguments: `subject`, `text` and/or `html`, and
// optionally `to` (a list, or "a@x, b@y") in place of the action's default recipients.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "actions/action.h"
#include "actions/action_config.h"
#include "actions/action_registry.h"

namespace oceanus::actions {

struct Mail {
  std::string from;
  std::vector<std::string> to;
  std::string subject;
  std::string text;  // text/plain part ("" = none)
  std::string html;  // text/html part ("" = none)
};

class MailerSettings;

class Mailer {
 public:
  virtual ~Mailer() = default;
  // OK once the server accepted it. Retryable: the server is unreachable or answered 4xx
  // (SMTP) / 5xx or 429 (HTTP).
  virtual Status Send(const Mail& mail) = 0;
  // The mail action it belongs to, and that action's sender settings.
  virtual const ActionConfig& action() const = 0;
  virtual const MailerSettings& settings() const = 0;
};

// The settings of an action that sends mail: the sender, the default recipients, and the
// mailer. Its Make is a MailAction over MakeMailer.
class MailerSettings : public ActionSettings {
 public:
  std::string from;
  std::vector<std::string> to;  // default recipients

  // The mailer of the action `self` (whose settings these are; it outlives the mailer).
  virtual std::unique_ptr<Mailer> MakeMailer(const ActionConfig& self) const = 0;
  Result<std::unique_ptr<Action>> Make(const ActionConfig& self,
                                       const ActionEnv& env) const override;

  // For the mail types' factories and Describe:
  // from: and to: of the action's mapping `node`.
  void ParseSender(const config::Reader& r, const YAML::Node& node);
  // A configured mail action needs from: (the error points at `key`, the action's name).
  void RequireSender(const config::Reader& r, const YAML::Node& key,
                     const ActionConfig& self) const;
  // "  from: …" and "  to: …" lines for Describe.
  void DescribeSender(std::ostream& out) const;
};

// The part every mailer shares: the action it sends for and that action's settings, typed
// (SmtpSettings, SendGridSettings); a mailer adds Send.
template <class Settings>
class MailerFor : public Mailer {
 public:
  MailerFor(const ActionConfig& action, const Settings& settings)
      : action_(action), settings_(settings) {}
  const ActionConfig& action() const override { return action_; }
  const MailerSettings& settings() const override { return settings_; }

 protected:
  const ActionConfig& action_;
  const Settings& settings_;
};

// Reads subject/text/html/to from a task's arguments into `mail` (the sender from `mailer`;
// recipients default to `default_to`). InvalidArgument when there is nobody to send to or
// nothing to send.
Status MailFromArgs(const std::string& args_json, const Mailer& mailer,
                    const std::vector<std::string>& default_to, Mail& mail, bool need_body);

class MailAction final : public Action {
 public:
  explicit MailAction(std::unique_ptr<Mailer> mailer) : mailer_(std::move(mailer)) {}
  Status Run(const tasks::Task& task) override;

 private:
  std::unique_ptr<Mailer> mailer_;
};

}  // namespace oceanus::actions
