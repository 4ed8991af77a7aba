// The admin page's JSON for the task queue's dead-letter: the dead tasks (/api/dead-tasks)
// and putting them back (/api/retry-tasks). Pure functions of the queue and the request, for
// the admin router (app/admin_role.cpp), answered on the admin thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "actions/action_config.h"
#include "config/config.h"
#include "http/admin_server.h"
#include "tasks/task_queue.h"

namespace oceanus::http {

// GET /api/dead-tasks?action=&id=&limit=<100>: the dead tasks that match, at most `limit`
// (1 to 1000), as {"tasks": [{"id", "action", "site", "attempts", "last_error",
// "not_before" (unix ms), "args": {…}, "event": {…}}], "count": N, "dead": total}. "dead"
// is missing when the queue cannot count. 400 for a malformed query or limit, 503 when the
// queue cannot be read.
AdminResponse DeadTasksAnswer(tasks::TaskQueue& queue, const std::string& query);

// Why a request may not put tasks back (not POST, no token configured or sent, not JSON), or
// nothing: re-running tasks sends messages and mails again, so it takes the token, as erase
// does.
std::optional<AdminResponse> RefuseRetryTasks(const config::AdminConfig& admin,
                                              const AdminRequest& request);

// POST /api/retry-tasks with a JSON body {"action": "…", "id": "…", "dry_run": false} (each
// optional; {} puts every dead task back): TaskQueue::ReviveDead, answered {"revived": N},
// or {"dry_run": true, "would_revive": N}. 400 with the reason for a body that is not a
// JSON object, a member that is unknown or not of its type, an action that `actions` does
// not name; 503 when the queue fails (then some tasks may be back, as the message says).
AdminResponse RetryTasksAnswer(tasks::TaskQueue& queue,
                               const std::vector<actions::ActionConfig>& actions,
                               std::string_view json_body);

}  // namespace oceanus::http
