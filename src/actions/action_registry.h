// The action registry: what an action's `type:` chooses (webhook, slack, smtp, sendgrid,
// sheets, history_report, …).
//
// The section parser (actions/action_config.cpp) reads the common keys of each action and
// rejects keys its type does not declare; the type's factory parses the rest into its
// settings and decides whether the action is configured. Once every action is parsed, each
// factory's Link sees them all (history_report checks its mailer). The roles then Check the
// configured actions' settings (credentials) before anything starts and Make the runnable
// actions from them (actions/registry.h). An implementation is a folder (actions/webhook/,
// actions/smtp/, …) with its settings, its factory and one OCEANUS_REGISTER line.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "actions/action.h"
#include "actions/action_config.h"
#include "config/parser_fwd.h"
#include "config/registry.h"
#include "util/status.h"

namespace oceanus {
class TimeZone;
}
namespace oceanus::sink {
class HistorySource;
}

namespace oceanus::actions {

// What a runnable action may be built with besides its own settings.
struct ActionEnv {
  const config::Config& shared;              // the sites, and the config file's path
  const std::vector<ActionConfig>& actions;  // every action (a report borrows its mailer)
  const TimeZone& tz;
  sink::HistorySource* history = nullptr;  // null unless some action NeedsHistory()
};

// One type's parsed, validated settings: what makes the runnable action.
class ActionSettings : public config::ComponentSettings {
 public:
  // Why an unconfigured action has no address, for the rules' start-up warning
  // ("url is empty").
  virtual std::string MissingAddress() const = 0;
  // Probes, before anything starts, what running the action will need (credentials). Called
  // by the roles that run actions, for every configured action; the message is prefixed
  // with the action's name by the caller. Nothing to probe by default.
  virtual Status Check() const { return Status::Ok(); }
  // Whether Make needs env.history (the sink's query).
  virtual bool NeedsHistory() const { return false; }
  // The runnable action for `self` (the common part; these are its settings), for a
  // configured action only. `self`, `env.shared` and `env.actions` outlive it. An error
  // (InvalidArgument) is prefixed with the action's name by the caller.
  virtual Result<std::unique_ptr<Action>> Make(const ActionConfig& self,
                                               const ActionEnv& env) const = 0;
};

class ActionFactory {
 public:
  virtual ~ActionFactory() = default;
  // The keys of an action of this type besides type, rate_limit, timeout and description,
  // in the order the unknown-key message lists them.
  virtual std::vector<const char*> Keys() const = 0;
  // This type's settings from the action's mapping `node` (`key`: its name, where errors
  // about the action as a whole point). Sets self.configured; self.name and self.line are
  // set. Errors go through r.Fail (file:line:col).
  virtual std::shared_ptr<ActionSettings> Parse(const config::Reader& r, const YAML::Node& key,
                                                const YAML::Node& node,
                                                ActionConfig& self) const = 0;
  // Once every action is parsed: checks `self` against the other actions and the shared
  // config, and may revise self.configured. Nothing by default.
  virtual void Link(const config::Reader& r, const YAML::Node& node, ActionConfig& self,
                    const std::vector<ActionConfig>& all, const config::Config& shared) const {
    (void)r, (void)node, (void)self, (void)all, (void)shared;
  }
};

using ActionRegistry = config::Registry<ActionFactory>;

}  // namespace oceanus::actions
