// /rstatus: the queue as an operator sees it, per site — stream length, each group's
// pending and lag, dead-letter length, local spool size — and whether Redis answers.
#pragma once

#include <string>

#include "config/config.h"
#include "queue/spool/spool.h"

namespace oceanus::queue {

// JSON. `spool` may be null (a process without a local spool, e.g. `oceanus load`).
// Queries Redis with its own short-lived connection: call it off the I/O threads.
std::string QueueStatusJson(const config::Config& config, const Spool* spool);

}  // namespace oceanus::queue
