// A task: one action to run for one event, maybe later, maybe again.
//
// The rules engine (react/) turns a matching event into tasks; a task queue (local SQLite or
// RabbitMQ) keeps them durably until they are due; the worker (tasks/worker.h) runs each
// through its action (actions/) and retries it with backoff, or buries it in the dead-letter
// once it has used up its attempts. A task carries everything its action needs, already
// rendered from the event, so a worker never needs the rule or the queue that produced it.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "util/status.h"

namespace oceanus::tasks {

using Clock = std::chrono::system_clock;

struct Task {
  // The idempotency key: "<rule>/<eid>/<step>". Enqueueing the same id twice stores it once,
  // so a rules engine that restarts and sees an event again does not act on it twice.
  std::string id;
  std::string action;              // a name from the config's `actions:`
  std::string args;                // JSON object: the step's arguments, rendered from the event
  std::string event;               // the triggering record (compact JSON), for actions that show it
  std::string site;                // the triggering event's site
  unsigned attempts = 0;           // runs that failed so far
  std::string last_error;          // why the last run failed
  Clock::time_point not_before{};  // do not run before this (delay, retry backoff)
  // The backend's handle for the copy being worked on (SQLite rowid, AMQP delivery tag).
  std::uint64_t handle = 0;
};

// The task as one JSON object (what goes into SQLite and RabbitMQ message bodies).
std::string EncodeTask(const Task& task);
Result<Task> DecodeTask(std::string_view json);

}  // namespace oceanus::tasks
