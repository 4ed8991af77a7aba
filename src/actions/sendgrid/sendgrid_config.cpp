// The sendgrid action's settings and factory (see sendgrid_config.h).
#include "actions/sendgrid/sendgrid_config.h"

#include <yaml-cpp/yaml.h>

#include <ostream>

#include "actions/sendgrid/sendgrid.h"
#include "config/reader.h"

namespace oceanus::actions {
namespace {

class SendGridFactory final : public ActionFactory {
 public:
  std::vector<const char*> Keys() const override { return {"endpoint", "api_key", "from", "to"}; }

  std::shared_ptr<ActionSettings> Parse(const config::Reader& r, const YAML::Node& key,
                                        const YAML::Node& node, ActionConfig& self) const override {
    auto s = std::make_shared<SendGridSettings>();
    s->ParseSender(r, node);
    if (node["api_key"]) s->api_key = r.Str(node["api_key"]);
    if (node["endpoint"]) s->endpoint = r.Str(node["endpoint"]);
    if (s->endpoint.empty()) s->endpoint = "https://api.sendgrid.com";
    self.configured = !s->api_key.empty();
    s->RequireSender(r, key, self);
    return s;
  }
};

}  // namespace

std::unique_ptr<Mailer> SendGridSettings::MakeMailer(const ActionConfig& self) const {
  return std::make_unique<SendGridMailer>(self, *this);
}

void SendGridSettings::Describe(std::ostream& out) const {
  out << "  endpoint: " << RedactUrl(endpoint) << "\n"
      << "  api_key: " << (api_key.empty() ? "(empty)" : "(set)") << "\n";
  DescribeSender(out);
}

OCEANUS_REGISTER(ActionFactory, SendGridFactory, "sendgrid");

}  // namespace oceanus::actions
