// sendgrid: send a mail through SendGrid's v3 API (POST /v3/mail/send), as an action of its
// own or as the mailer of a history report (actions/mail.h).
#pragma once

#include "actions/mail.h"
#include "actions/sendgrid/sendgrid_config.h"

namespace oceanus::actions {

class SendGridMailer final : public Mailer {
 public:
  SendGridMailer(const ActionConfig& action, const SendGridSettings& settings)
      : action_(action), settings_(settings) {}
  Status Send(const Mail& mail) override;
  const ActionConfig& action() const override { return action_; }
  const MailerSettings& settings() const override { return settings_; }

 private:
  const ActionConfig& action_;
  const SendGridSettings& settings_;
};

}  // namespace oceanus::actions
