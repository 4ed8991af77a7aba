// The webhook and slack actions' settings and factories (see webhook_config.h).
#include "actions/webhook/webhook_config.h"

#include <yaml-cpp/yaml.h>

#include <ostream>

#include "actions/webhook/webhook.h"
#include "config/reader.h"

namespace oceanus::actions {
namespace {

std::shared_ptr<WebhookSettings> ParseUrl(const config::Reader& r, const YAML::Node& node,
                                          ActionConfig& self) {
  auto s = std::make_shared<WebhookSettings>();
  if (node["url"]) s->url = r.Str(node["url"]);
  self.configured = !s->url.empty();
  return s;
}

class WebhookFactory final : public ActionFactory {
 public:
  std::vector<const char*> Keys() const override { return {"url", "headers"}; }

  std::shared_ptr<ActionSettings> Parse(const config::Reader& r, const YAML::Node& key,
                                        const YAML::Node& node, ActionConfig& self) const override {
    (void)key;
    auto s = ParseUrl(r, node, self);
    if (const auto& h = node["headers"]) {
      if (!h.IsMap()) r.Fail(h, "headers is a mapping of name: value");
      for (const auto& kv : h)
        s->headers.emplace_back(kv.first.as<std::string>(), r.Str(kv.second));
    }
    return s;
  }
};

class SlackFactory final : public ActionFactory {
 public:
  std::vector<const char*> Keys() const override { return {"url"}; }

  std::shared_ptr<ActionSettings> Parse(const config::Reader& r, const YAML::Node& key,
                                        const YAML::Node& node, ActionConfig& self) const override {
    (void)key;
    auto s = ParseUrl(r, node, self);
    s->slack = true;
    return s;
  }
};

}  // namespace

Result<std::unique_ptr<Action>> WebhookSettings::Make(const ActionConfig& self,
                                                      const ActionEnv& env) const {
  (void)env;
  return std::unique_ptr<Action>(std::make_unique<WebhookAction>(self, *this));
}

void WebhookSettings::Describe(std::ostream& out) const {
  out << "  url: " << (url.empty() ? "(empty)" : RedactUrl(url)) << "\n";
  for (const auto& [name, value] : headers) out << "  header " << name << ": (set)\n";
}

OCEANUS_REGISTER(ActionFactory, WebhookFactory, "webhook");
OCEANUS_REGISTER(ActionFactory, SlackFactory, "slack");

}  // namespace oceanus::actions
