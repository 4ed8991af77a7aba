// The runnable actions of a config, through the action registry (actions/action_registry.h):
// the roles that run actions probe them, then make one per configured entry of `actions:`
// (entries without an address are left out; their rule steps were skipped at compile time).
#pragma once

#include <vector>

#include "actions/action.h"
#include "actions/action_config.h"
#include "actions/action_registry.h"

namespace oceanus::actions {

// Each configured action's Check (credentials that must work before anything starts);
// errors are "action 'NAME': …".
Status CheckActions(const std::vector<ActionConfig>& actions);

// Whether some configured action reads the sink's history (ActionEnv::history).
bool NeedsHistory(const std::vector<ActionConfig>& actions);

// One runnable action per configured action, by name; errors are "action 'NAME': …"
// (InvalidArgument: the config cannot run).
Result<ActionMap> MakeActions(const std::vector<ActionConfig>& actions, const ActionEnv& env);

}  // namespace oceanus::actions
