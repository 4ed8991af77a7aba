// action type `history_report`: mailer (an smtp or sendgrid action), template (an HTML
// mustache file, relative to the config file), site (whose tables are read), by (the
// subject's field: sid or uid), period, limit, to. Registered in the action registry
// (actions/action_registry.h); configured when its mailer is.
#pragma once

#include <chrono>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "actions/action_registry.h"

namespace oceanus::actions {

class HistoryReportSettings final : public ActionSettings {
 public:
  std::string by = "sid";
  std::string site;
  std::chrono::milliseconds period{86'400'000};
  unsigned limit = 150;
  std::string template_path;
  std::string mailer;
  std::vector<std::string> to;  // default: the mailer's

  std::string MissingAddress() const override {
    return "its mailer '" + mailer + "' is not configured";
  }
  bool NeedsHistory() const override { return true; }
  // Compiles the template and borrows the mailer; needs env.history.
  Result<std::unique_ptr<Action>> Make(const ActionConfig& self,
                                       const ActionEnv& env) const override;
  // mailer, template, site, by, period, limit, to.
  void Describe(std::ostream& out) const override;
};

}  // namespace oceanus::actions
