// The dead tasks' admin JSON; see admin_tasks_api.h. A dead task's id, error and arguments
// come from events and from the services that refused them, so every string goes out through
// AppendJsonStringLossy, and args/event (JSON already) only after a parse that checks their
// encoding: the answer stays valid JSON whatever the task holds.
#include "http/admin_tasks_api.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <charconv>
#include <chrono>

#include "event/params.h"
#include "http/admin_api.h"
#include "util/json.h"

namespace oceanus::http {
namespace {

constexpr std::size_t kDefaultLimit = 100;
constexpr std::size_t kMaxLimit = 1000;

AdminResponse BadRequest(const std::string& why) { return ErrorAnswer(400, why); }

// `json` as it is when it is a valid UTF-8 JSON object, else as a string.
void AppendJsonObjectOrString(std::string& out, const std::string& json) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(json.data(), json.size());
  if (!doc.HasParseError() && doc.IsObject()) {
    out += json;
  } else {
    AppendJsonStringLossy(out, json);
  }
}

void AppendTask(std::string& out, const tasks::Task& t) {
  out += "{\"id\":";
  AppendJsonStringLossy(out, t.id);
  out += ",\"action\":";
  AppendJsonStringLossy(out, t.action);
  out += ",\"site\":";
  AppendJsonStringLossy(out, t.site);
  out += ",\"attempts\":" + std::to_string(t.attempts) + ",\"last_error\":";
  AppendJsonStringLossy(out, t.last_error);
  const auto not_before =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.not_before.time_since_epoch());
  out += ",\"not_before\":" + std::to_string(not_before.count()) + ",\"args\":";
  AppendJsonObjectOrString(out, t.args.empty() ? "{}" : t.args);
  out += ",\"event\":";
  AppendJsonObjectOrString(out, t.event.empty() ? "{}" : t.event);
  out += "}";
}

// ?action=&id= as a filter; an empty one (a form's blank field) filters nothing, as in the
// other admin views.
tasks::DeadTaskFilter FilterOf(const event::ParamList& params) {
  tasks::DeadTaskFilter filter;
  if (auto a = params.Get("action"); a && !a->empty()) filter.action = std::string(*a);
  if (auto i = params.Get("id"); i && !i->empty()) filter.id = std::string(*i);
  return filter;
}

// The body's members, each checked for its type; an error names the member.
Status ParseRetryBody(std::string_view body, tasks::DeadTaskFilter& filter, bool& dry_run) {
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject())
    return Status::InvalidArgument("retry-tasks: the body is not a JSON object");
  for (const auto& m : doc.GetObject()) {
    const std::string_view key(m.name.GetString(), m.name.GetStringLength());
    if (key == "dry_run") {
      if (!m.value.IsBool())
        return Status::InvalidArgument("retry-tasks: dry_run is true or false");
      dry_run = m.value.GetBool();
    } else if (key == "action" || key == "id") {
      if (!m.value.IsString() || m.value.GetStringLength() == 0)
        return Status::InvalidArgument("retry-tasks: " + std::string(key) +
                                       " is a non-empty string");
      std::string value(m.value.GetString(), m.value.GetStringLength());
      (key == "action" ? filter.action : filter.id) = std::move(value);
    } else {
      return Status::InvalidArgument("retry-tasks: unknown member '" + std::string(key) +
                                     "' (expected action, id, dry_run)");
    }
  }
  return Status::Ok();
}

}  // namespace

AdminResponse DeadTasksAnswer(tasks::TaskQueue& queue, const std::string& query) {
  event::ParamList params;
  std::string bad;
  if (!params.AddEncoded(query, &bad)) return BadRequest("malformed parameter '" + bad + "'");
  std::size_t limit = kDefaultLimit;
  if (auto l = params.Get("limit")) {
    const auto [end, ec] = std::from_chars(l->data(), l->data() + l->size(), limit);
    if (ec != std::errc() || end != l->data() + l->size() || limit == 0)
      return BadRequest("limit: give a whole number from 1 to " + std::to_string(kMaxLimit));
    limit = std::min(limit, kMaxLimit);
  }
  auto dead = queue.DeadTasks(limit, FilterOf(params));
  if (!dead.ok()) return ErrorAnswer(503, "tasks: " + dead.status().message());
  std::string out = "{\"tasks\":[";
  for (std::size_t i = 0; i < dead->size(); ++i) {
    if (i > 0) out += ",";
    AppendTask(out, (*dead)[i]);
  }
  out += "],\"count\":" + std::to_string(dead->size());
  if (auto counts = queue.Counts(); counts.ok()) out += ",\"dead\":" + std::to_string(counts->dead);
  return {200, "application/json", out + "}\n"};
}

std::optional<AdminResponse> RefuseRetryTasks(const config::AdminConfig& admin,
                                              const AdminRequest& request) {
  return RefuseChange(admin, request, "retry-tasks");
}

AdminResponse RetryTasksAnswer(tasks::TaskQueue& queue,
                               const std::vector<actions::ActionConfig>& actions,
                               std::string_view json_body) {
  tasks::DeadTaskFilter filter;
  bool dry_run = false;
  if (Status s = ParseRetryBody(json_body, filter, dry_run); !s.ok())
    return BadRequest(s.message());
  if (filter.action && actions::FindAction(actions, *filter.action) == nullptr)
    return BadRequest("retry-tasks: no action '" + *filter.action + "' in the config");
  if (dry_run) {
    auto n = tasks::CountRevivable(queue, filter);
    if (!n.ok()) return ErrorAnswer(503, "tasks: " + n.status().message());
    return {200, "application/json",
            "{\"dry_run\":true,\"would_revive\":" + std::to_string(*n) + "}\n"};
  }
  auto n = queue.ReviveDead(filter);
  if (!n.ok()) return ErrorAnswer(503, "tasks: " + n.status().message());
  return {200, "application/json", "{\"revived\":" + std::to_string(*n) + "}\n"};
}

}  // namespace oceanus::http
