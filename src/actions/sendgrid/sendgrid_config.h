// action type `sendgrid`: endpoint (default https://api.sendgrid.com), api_key, from, to.
// Registered in the action registry (actions/action_registry.h).
#pragma once

#include <iosfwd>
#include <memory>
#include <string>

#include "actions/mail.h"

namespace oceanus::actions {

class SendGridSettings final : public MailerSettings {
 public:
  std::string endpoint = "https://api.sendgrid.com";
  std::string api_key;  // empty: not configured here

  std::string MissingAddress() const override { return "api_key is empty"; }
  std::unique_ptr<Mailer> MakeMailer(const ActionConfig& self) const override;
  // endpoint (redacted), api_key (whether set), from, to.
  void Describe(std::ostream& out) const override;
};

}  // namespace oceanus::actions
