// The smtp action's settings and factory (see smtp_config.h).
#include "actions/smtp/smtp_config.h"

#include <yaml-cpp/yaml.h>

#include <ostream>

#include "actions/smtp/smtp.h"
#include "config/reader.h"

namespace oceanus::actions {
namespace {

class SmtpFactory final : public ActionFactory {
 public:
  std::vector<const char*> Keys() const override {
    return {"url", "username", "password", "tls", "ca_file", "from", "to"};
  }

  std::shared_ptr<ActionSettings> Parse(const config::Reader& r, const YAML::Node& key,
                                        const YAML::Node& node, ActionConfig& self) const override {
    auto s = std::make_shared<SmtpSettings>();
    if (node["url"]) s->url = r.Str(node["url"]);
    if (node["username"]) s->username = r.Str(node["username"]);
    if (node["password"]) s->password = r.Str(node["password"]);
    if (node["tls"]) {
      s->tls = r.Str(node["tls"]);
      if (s->tls != "none" && s->tls != "try" && s->tls != "require")
        r.Fail(node["tls"], "tls is none, try (STARTTLS when offered) or require");
    }
    if (node["ca_file"]) s->ca_file = r.Str(node["ca_file"]);
    s->ParseSender(r, node);
    self.configured = !s->url.empty();
    s->RequireSender(r, key, self);
    if (!s->url.empty() && s->url.rfind("smtp://", 0) != 0 && s->url.rfind("smtps://", 0) != 0)
      r.Fail(node["url"], "smtp url is smtp://host:port or smtps://host:port");
    return s;
  }
};

}  // namespace

std::unique_ptr<Mailer> SmtpSettings::MakeMailer(const ActionConfig& self) const {
  return std::make_unique<SmtpMailer>(self, *this);
}

void SmtpSettings::Describe(std::ostream& out) const {
  out << "  url: " << (url.empty() ? "(empty)" : RedactUrl(url)) << "\n"
      << "  tls: " << tls << "\n"
      << "  username: " << (username.empty() ? "(none)" : username) << "\n"
      << "  password: " << (password.empty() ? "(none)" : "(set)") << "\n"
      << "  ca_file: " << (ca_file.empty() ? "(system)" : ca_file) << "\n";
  DescribeSender(out);
}

OCEANUS_REGISTER(ActionFactory, SmtpFactory, "smtp");

}  // namespace oceanus::actions
