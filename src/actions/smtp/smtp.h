// smtp: send a mail by SMTP (libcurl: STARTTLS, AUTH), as an action of its own or as the
// mailer of a history report (actions/mail.h).
#pragma once

#include <string>

#include "actions/mail.h"
#include "actions/smtp/smtp_config.h"

namespace oceanus::actions {

// RFC 5322 text of `mail`: UTF-8 subject as RFC 2047 base64, a multipart/alternative body
// when it has both parts, each part base64 (lines of 76). `date` and `message_id` given by
// the caller so that tests can pin them.
std::string BuildMimeMessage(const Mail& mail, const std::string& date,
                             const std::string& message_id);

class SmtpMailer final : public MailerFor<SmtpSettings> {
 public:
  using MailerFor::MailerFor;
  Status Send(const Mail& mail) override;
};

}  // namespace oceanus::actions
