// CheckActions, NeedsHistory and MakeActions (see registry.h): loops over the configured
// actions, each handled by its own settings.
#include "actions/registry.h"

#include <algorithm>

namespace oceanus::actions {
namespace {

std::string Named(const ActionConfig& a, const Status& s) {
  return "action '" + a.name + "': " + s.message();
}

}  // namespace

Status CheckActions(const std::vector<ActionConfig>& actions) {
  for (const auto& a : actions) {
    if (!a.configured) continue;
    if (Status s = a.settings->Check(); !s.ok()) return Status::InvalidArgument(Named(a, s));
  }
  return Status::Ok();
}

bool NeedsHistory(const std::vector<ActionConfig>& actions) {
  return std::any_of(actions.begin(), actions.end(), [](const ActionConfig& a) {
    return a.configured && a.settings->NeedsHistory();
  });
}

Result<ActionMap> MakeActions(const std::vector<ActionConfig>& actions, const ActionEnv& env) {
  ActionMap out;
  for (const auto& a : actions) {
    if (!a.configured) continue;
    auto made = a.settings->Make(a, env);
    if (!made.ok()) return Status::InvalidArgument(Named(a, made.status()));
    out.emplace(a.name, std::move(made).value());
  }
  return out;
}

}  // namespace oceanus::actions
