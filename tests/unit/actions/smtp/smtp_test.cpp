// The SMTP action's MIME message.
#include "actions/smtp/smtp.h"

#include <gtest/gtest.h>

namespace oceanus::actions {
namespace {

TEST(MailTest, MimeMessageEncodesUtf8AndKeepsHeadersOnOneLine) {
  Mail mail;
  mail.from = "oceanus@example.com";
  mail.to = {"a@example.com", "b@example.com"};
  mail.subject = "資料請求\r\nBcc: evil@example.com";
  mail.text = "plain";
  mail.html = "<p>html</p>";
  const std::string m =
      BuildMimeMessage(mail, "Wed, 25 Nov 2026 00:00:00 +0000", "<id@example.com>");
  EXPECT_NE(m.find("To: a@example.com, b@example.com\r\n"), std::string::npos);
  // The subject is one encoded word: the CR LF inside cannot start a header.
  EXPECT_NE(m.find("Subject: =?UTF-8?B?"), std::string::npos);
  EXPECT_EQ(m.find("\r\nBcc:"), std::string::npos);
  EXPECT_NE(m.find("multipart/alternative"), std::string::npos);
  EXPECT_NE(m.find("Content-Type: text/html; charset=UTF-8"), std::string::npos);
  EXPECT_NE(m.find("PHA+aHRtbDwvcD4="), std::string::npos);  // base64 of <p>html</p>
}

}  // namespace
}  // namespace oceanus::actions
