// Builds the runnable actions of a config: one per configured entry of `actions:` (entries
// without an address are left out; their rule steps were skipped at compile time).
#pragma once

#include "actions/action.h"
#include "app/config.h"
#include "sink/history.h"
#include "util/time.h"

namespace oceanus::actions {

// `history` may be null when no history_report action is configured.
Result<ActionMap> MakeActions(const app::Config& config, const TimeZone& tz,
                              sink::HistorySource* history);

}  // namespace oceanus::actions
