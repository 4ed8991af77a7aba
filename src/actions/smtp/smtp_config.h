// action type `smtp`: url (smtp://host:port or smtps://), username, password, tls, ca_file,
// from, to. Registered in the action registry (actions/action_registry.h).
#pragma once

#include <iosfwd>
#include <memory>
#include <string>

#include "actions/mail.h"

namespace oceanus::actions {

class SmtpSettings final : public MailerSettings {
 public:
  std::string url;  // empty: not configured here
  std::string username;
  std::string password;
  std::string tls = "try";  // none | try (STARTTLS if offered) | require
  std::string ca_file;      // CA bundle for the server's certificate (default: system)

  std::string MissingAddress() const override { return "url is empty"; }
  std::unique_ptr<Mailer> MakeMailer(const ActionConfig& self) const override;
  // url (redacted), username, password and ca_file (whether set), tls, from, to.
  void Describe(std::ostream& out) const override;
};

}  // namespace oceanus::actions
