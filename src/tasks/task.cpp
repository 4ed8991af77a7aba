// Task ⇄ JSON. RapidJSON, as everywhere off the event path's own encoder.
#include "tasks/task.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace oceanus::tasks {

std::string EncodeTask(const Task& task) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("id");
  w.String(task.id);
  w.Key("action");
  w.String(task.action);
  w.Key("site");
  w.String(task.site);
  // args and event are JSON already: embedded as values, not strings.
  w.Key("args");
  w.RawValue(task.args.empty() ? "{}" : task.args.c_str(), task.args.empty() ? 2 : task.args.size(),
             rapidjson::kObjectType);
  w.Key("event");
  w.RawValue(task.event.empty() ? "{}" : task.event.c_str(),
             task.event.empty() ? 2 : task.event.size(), rapidjson::kObjectType);
  w.Key("attempts");
  w.Uint(task.attempts);
  w.Key("last_error");
  w.String(task.last_error);
  w.Key("not_before_ms");
  w.Int64(std::chrono::duration_cast<std::chrono::milliseconds>(task.not_before.time_since_epoch())
              .count());
  w.EndObject();
  return buffer.GetString();
}

namespace {

std::string Serialize(const rapidjson::Value& v) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  v.Accept(w);
  return buffer.GetString();
}

}  // namespace

Result<Task> DecodeTask(std::string_view json) {
  rapidjson::Document d;
  d.Parse(json.data(), json.size());
  if (d.HasParseError() || !d.IsObject()) return Status::Corruption("task is not a JSON object");
  Task t;
  auto str = [&](const char* key, std::string& out) {
    auto it = d.FindMember(key);
    if (it == d.MemberEnd() || !it->value.IsString()) return false;
    out.assign(it->value.GetString(), it->value.GetStringLength());
    return true;
  };
  if (!str("id", t.id) || t.id.empty()) return Status::Corruption("task has no id");
  if (!str("action", t.action) || t.action.empty())
    return Status::Corruption("task " + t.id + " has no action");
  str("site", t.site);
  str("last_error", t.last_error);
  if (auto it = d.FindMember("args"); it != d.MemberEnd() && it->value.IsObject())
    t.args = Serialize(it->value);
  else
    t.args = "{}";
  if (auto it = d.FindMember("event"); it != d.MemberEnd() && it->value.IsObject())
    t.event = Serialize(it->value);
  else
    t.event = "{}";
  if (auto it = d.FindMember("attempts"); it != d.MemberEnd() && it->value.IsUint())
    t.attempts = it->value.GetUint();
  if (auto it = d.FindMember("not_before_ms"); it != d.MemberEnd() && it->value.IsInt64())
    t.not_before = Clock::time_point(std::chrono::milliseconds(it->value.GetInt64()));
  return t;
}

}  // namespace oceanus::tasks
