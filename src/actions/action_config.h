// The actions section of the config: the named services rules send to.
//
// Every action has a common part (ActionConfig: name, type, rate_limit, timeout,
// description, whether it is configured here); the keys of its type are parsed by the
// type's factory into its settings (actions/action_registry.h), which the common part holds.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/parser_fwd.h"

namespace oceanus::actions {

class ActionSettings;

// Per action, as in Celery's rate_limit="15/m".
struct RateLimit {
  unsigned count = 0;  // 0 = unlimited
  std::chrono::milliseconds per{60'000};
};

// A named action: how to reach a service. Rules refer to it by name and give the
// per-event arguments. An action without an address here is `configured = false`: reported
// once at start, and its steps are skipped.
struct ActionConfig {
  std::string name;
  std::string type;        // a registered action type (webhook, slack, smtp, …)
  bool configured = true;  // decided by the type's factory
  std::string description;
  RateLimit rate_limit;
  std::chrono::milliseconds timeout{30'000};
  int line = 0;
  // The type's own keys; null only in an ActionConfig built by hand (tests of the worker).
  std::shared_ptr<ActionSettings> settings;
};

// The actions section (a mapping of name to settings); types that refer to the shared part
// (history reports: their site) are checked against `shared`.
std::vector<ActionConfig> ParseActions(const config::Reader& r, const YAML::Node& node,
                                       const config::Config& shared);
const ActionConfig* FindAction(const std::vector<ActionConfig>& actions, std::string_view name);

// The recipients of a `to:` key: a list, or "a@x, b@y" (from one environment variable).
std::vector<std::string> ParseAddressList(const config::Reader& r, const YAML::Node& node);

}  // namespace oceanus::actions
