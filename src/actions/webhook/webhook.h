// webhook and slack: POST the step's rendered arguments as a JSON body.
//
// `webhook` sends the arguments object as it is (with the configured headers); `slack`
// sends an incoming-webhook message: the arguments must carry `text` and/or `blocks`
// (Slack's own fields, passed through), checked before anything is sent. Both are the same
// POST, so both types live here: two registrations (webhook_config.cpp) over one action.
#pragma once

#include "actions/action.h"
#include "actions/webhook/webhook_config.h"

namespace oceanus::actions {

class WebhookAction final : public Action {
 public:
  WebhookAction(const ActionConfig& action, const WebhookSettings& settings)
      : action_(action), settings_(settings) {}
  Status Run(const tasks::Task& task) override;

 private:
  const ActionConfig& action_;
  const WebhookSettings& settings_;
};

}  // namespace oceanus::actions
