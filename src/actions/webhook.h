// webhook and slack: POST the step's rendered arguments as a JSON body.
//
// `webhook` sends the arguments object as it is (with the configured headers); `slack`
// sends an incoming-webhook message: the arguments must carry `text` and/or `blocks`
// (Slack's own fields, passed through), checked before anything is sent.
#pragma once

#include "actions/action.h"
#include "app/config.h"

namespace oceanus::actions {

class WebhookAction final : public Action {
 public:
  explicit WebhookAction(const actions::ActionConfig& config) : config_(config) {}
  Status Run(const tasks::Task& task) override;

 private:
  const actions::ActionConfig& config_;
};

}  // namespace oceanus::actions
