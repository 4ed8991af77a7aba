// action types `webhook` (url, headers) and `slack` (url: an incoming webhook). Registered in
// the action registry (actions/action_registry.h).
#pragma once

#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

#include "actions/action_registry.h"

namespace oceanus::actions {

class WebhookSettings final : public ActionSettings {
 public:
  bool slack = false;  // type slack: the arguments must be a Slack message
  std::string url;     // empty: not configured here
  std::vector<std::pair<std::string, std::string>> headers;  // webhook only

  std::string MissingAddress() const override { return "url is empty"; }
  Result<std::unique_ptr<Action>> Make(const ActionConfig& self,
                                       const ActionEnv& env) const override;
  // url (redacted), each header's name (values may be credentials).
  void Describe(std::ostream& out) const override;
};

}  // namespace oceanus::actions
