// sendgrid: send a mail through SendGrid's v3 API (POST /v3/mail/send), as an action of its
// own or as the mailer of a history report (actions/mail.h).
#pragma once

#include "actions/mail.h"
#include "actions/sendgrid/sendgrid_config.h"

namespace oceanus::actions {

class SendGridMailer final : public MailerFor<SendGridSettings> {
 public:
  using MailerFor::MailerFor;
  Status Send(const Mail& mail) override;
};

}  // namespace oceanus::actions
