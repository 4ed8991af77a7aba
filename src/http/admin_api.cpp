// Admin page JSON; see admin_api.h. Every string goes out through AppendJsonStringLossy: a
// rejected request's target, a warehouse value or a parameter name may hold any bytes, and
// the answer must stay valid JSON (invalid UTF-8 becomes U+FFFD).
#include "http/admin_api.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <charconv>
#include <chrono>

#include "event/params.h"
#include "load/erasure.h"
#include "load/replay.h"
#include "queue/queue_registry.h"
#include "util/build_info.h"
#include "util/json.h"

namespace oceanus::http {
namespace {

AdminResponse BadRequest(const std::string& why) { return ErrorAnswer(400, why); }

std::int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The columns a visitor is found by: the beacons' session and member ids, and a segment
// site's user_id and anonymous_id.
constexpr const char* kVisitorKeys[] = {"sid", "uid", "user_id", "anonymous_id"};

}  // namespace

AdminResponse ErrorAnswer(int status, const std::string& message) {
  std::string body = "{\"error\":";
  AppendJsonStringLossy(body, message);
  return {status, "application/json", body + "}\n"};
}

AdminResponse TailAnswer(const config::Config& config, const Server* server,
                         const std::string& query) {
  event::ParamList params;
  std::string bad;
  if (!params.AddEncoded(query, &bad)) return BadRequest("malformed parameter '" + bad + "'");
  if (server == nullptr) return BadRequest("this process has no collector (no live tail)");
  std::int64_t since = 0;
  if (auto s = params.Get("since")) std::from_chars(s->data(), s->data() + s->size(), since);
  // Records are canonical JSON ("sid":"abc"); a rejected request is matched on its target.
  std::vector<std::string> event_needles, rejection_needles;
  std::string site_filter;
  if (auto s = params.Get("site"); s && !s->empty()) site_filter = std::string(*s);
  for (const char* key : kVisitorKeys) {
    auto v = params.Get(key);
    if (!v || v->empty()) continue;
    std::string needle = "\"";
    needle += key;
    needle += "\":";
    AppendJsonString(needle, *v);
    event_needles.push_back(needle);
    rejection_needles.push_back(std::string(key) + "=" + std::string(*v));
  }
  std::vector<collect::RecentEntry> events, rejections;
  const std::int64_t now = NowMicros();
  server->CollectRecent(since, event_needles, rejection_needles, events, rejections);
  auto site_ok = [&](std::size_t i) {
    return site_filter.empty() || (i < config.sites.size() && config.sites[i].name == site_filter);
  };
  std::string out = "{\"now\":" + std::to_string(now) + ",\"events\":[";
  bool first = true;
  for (const auto& e : events) {
    if (!site_ok(e.site)) continue;
    if (!first) out += ",";
    first = false;
    out += "{\"at\":" + std::to_string(e.at_micros) + ",\"site\":";
    AppendJsonStringLossy(out, config.sites[e.site].name);
    out += ",\"record\":" + e.text + "}";  // already a JSON object
  }
  out += "],\"rejections\":[";
  first = true;
  for (const auto& e : rejections) {
    if (!site_ok(e.site)) continue;
    if (!first) out += ",";
    first = false;
    out += "{\"at\":" + std::to_string(e.at_micros) + ",\"site\":";
    AppendJsonStringLossy(out, config.sites[e.site].name);
    out += ",\"text\":";
    AppendJsonStringLossy(out, e.text);
    out += "}";
  }
  out += "]}\n";
  return {200, "application/json", out};
}

namespace {

// A whole decimal number of the parameter `key`, or `fallback` when it is absent; false when
// it is there and not a number.
bool IntParam(const event::ParamList& params, const char* key, std::int64_t fallback,
              std::int64_t& out) {
  out = fallback;
  auto v = params.Get(key);
  if (!v || v->empty()) return true;
  const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  return ec == std::errc() && end == v->data() + v->size();
}

void AppendRejection(std::string& out, const queue::Rejection& r) {
  out += "{\"at\":" + std::to_string(r.at_micros) + ",\"site\":";
  AppendJsonStringLossy(out, r.site);
  out += ",\"kind\":";
  AppendJsonStringLossy(out, r.kind);
  out += ",\"reason\":";
  AppendJsonStringLossy(out, r.reason);
  out += ",\"status\":" + std::to_string(r.status) + ",\"detail\":";
  AppendJsonStringLossy(out, r.detail);
  out += ",\"payload\":";
  AppendJsonStringLossy(out, r.payload);
  out += "}";
}

}  // namespace

AdminResponse RejectedAnswer(queue::RejectedStore* store, const std::string& query) {
  event::ParamList params;
  std::string bad;
  if (!params.AddEncoded(query, &bad)) return BadRequest("malformed parameter '" + bad + "'");
  if (store == nullptr) return BadRequest("this process keeps no rejected events");
  queue::RejectedQuery q;
  for (auto [key, field] : {std::pair{"site", &q.site}, {"kind", &q.kind}, {"reason", &q.reason}})
    if (auto v = params.Get(key)) *field = std::string(*v);
  std::int64_t limit = 0;
  if (!IntParam(params, "since", 0, q.since_micros) ||
      !IntParam(params, "until", INT64_MAX, q.until_micros) ||
      !IntParam(params, "limit", 100, limit))
    return BadRequest("since, until (microseconds since the epoch) and limit are whole numbers");
  q.limit = static_cast<std::size_t>(std::clamp<std::int64_t>(limit, 1, 1000));
  auto entries = store->List(q);
  if (!entries.ok()) return ErrorAnswer(503, entries.status().message());
  auto counts = store->Count();
  if (!counts.ok()) return ErrorAnswer(503, counts.status().message());
  std::string out = "{\"entries\":[";
  for (std::size_t i = 0; i < entries->size(); ++i) {
    if (i > 0) out += ",";
    AppendRejection(out, (*entries)[i]);
  }
  out += "],\"counts\":[";
  bool first = true;
  for (const auto& [key, n] : *counts) {
    if (!first) out += ",";
    first = false;
    out += "{\"site\":";
    AppendJsonStringLossy(out, std::get<0>(key));
    out += ",\"kind\":";
    AppendJsonStringLossy(out, std::get<1>(key));
    out += ",\"reason\":";
    AppendJsonStringLossy(out, std::get<2>(key));
    out += ",\"count\":" + std::to_string(n) + "}";
  }
  return {200, "application/json", out + "]}\n"};
}

AdminResponse VisitorAnswer(const config::Config& config, sink::HistorySource* history,
                            const std::string& query) {
  event::ParamList params;
  std::string bad;
  if (!params.AddEncoded(query, &bad)) return BadRequest("malformed parameter '" + bad + "'");
  auto site_name = params.Get("site");
  const config::Site* site = site_name ? config.FindSite(*site_name) : nullptr;
  if (site == nullptr) return BadRequest("site: give one of the configured sites");
  std::string column, value;
  for (const char* key : kVisitorKeys) {
    auto v = params.Get(key);
    if (v && !v->empty()) {
      column = key;
      value = std::string(*v);
      break;
    }
  }
  if (column.empty()) return BadRequest("give sid, uid, user_id or anonymous_id");
  bool has_column = false;
  for (const auto& f : site->schema) has_column = has_column || f.name == column;
  if (!has_column) return BadRequest("site " + site->name + " has no field " + column);
  if (history == nullptr) return BadRequest("the warehouse cannot be read from this process");
  int hours = 24;
  if (auto h = params.Get("hours")) std::from_chars(h->data(), h->data() + h->size(), hours);
  hours = std::clamp(hours, 1, 24 * 31);
  const auto since = std::chrono::system_clock::now() - std::chrono::hours(hours);
  auto rows = history->Recent(*site, column, value, since, 500);
  if (!rows.ok()) {
    std::string body = "{\"error\":";
    AppendJsonStringLossy(body, rows.status().message());
    return {503, "application/json", body + "}\n"};
  }
  std::string out = "{\"site\":";
  AppendJsonStringLossy(out, site->name);
  out += ",\"rows\":[";
  for (std::size_t i = 0; i < rows->size(); ++i) {
    if (i > 0) out += ",";
    out += "{";
    for (std::size_t k = 0; k < (*rows)[i].size(); ++k) {
      if (k > 0) out += ",";
      AppendJsonStringLossy(out, (*rows)[i][k].first);
      out += ":";
      AppendJsonStringLossy(out, (*rows)[i][k].second);
    }
    out += "}";
  }
  out += "]}\n";
  return {200, "application/json", out};
}

std::optional<AdminResponse> RefuseChange(const config::AdminConfig& admin,
                                          const AdminRequest& request, std::string_view what) {
  const std::string name(what);
  if (request.method != "POST") return ErrorAnswer(405, name + ": POST a JSON body");
  if (admin.token.empty())
    return ErrorAnswer(403, name + ": set admin.token to use this call (it changes data)");
  if (!request.authenticated) return ErrorAnswer(401, name + ": admin token required");
  if (!request.content_type.starts_with("application/json"))
    return ErrorAnswer(415, name + ": Content-Type must be application/json");
  return std::nullopt;
}

std::optional<AdminResponse> RefuseErase(const config::AdminConfig& admin,
                                         const AdminRequest& request) {
  return RefuseChange(admin, request, "erase");
}

AdminResponse ReplayAnswer(const config::Config& config, const queue::QueueConfig& queue_config,
                           queue::Queue& queue, std::string_view body) {
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject())
    return BadRequest("replay: the body is not a JSON object");
  load::ReplayOptions options;
  for (const auto& m : doc.GetObject()) {
    const std::string_view key(m.name.GetString(), m.name.GetStringLength());
    const auto& v = m.value;
    if ((key == "site" || key == "reason") && v.IsString()) {
      (key == "site" ? options.site : options.reason).assign(v.GetString(), v.GetStringLength());
    } else if ((key == "since" || key == "until") && v.IsInt64()) {
      const std::chrono::system_clock::time_point at{std::chrono::microseconds(v.GetInt64())};
      (key == "since" ? options.since : options.until) = at;
    } else if (key == "dry_run" && v.IsBool()) {
      options.dry_run = v.GetBool();
    } else {
      return BadRequest("replay: '" + std::string(key) +
                        "' is not one of site, reason (strings), since, until (microseconds), "
                        "dry_run");
    }
  }
  std::unique_ptr<queue::BulkWriter> target;
  if (!options.dry_run) {
    auto opened = queue.OpenBulkWriter();
    if (!opened.ok()) return ErrorAnswer(503, "replay: " + opened.status().message());
    target = std::move(opened).value();
  }
  auto result =
      load::Replay(config, queue_config, options, target.get(), [](const load::ReplayProgress&) {});
  if (!result.ok())
    return ErrorAnswer(result.status().code() == Status::Code::kInvalidArgument ? 400 : 503,
                       "replay: " + result.status().message());
  std::string out = "{\"replayed\":" + std::to_string(result->records) +
                    ",\"skipped\":" + std::to_string(result->skipped) + ",\"summary\":";
  AppendJsonStringLossy(out, load::Describe(options, *result));
  return {200, "application/json", out + "}\n"};
}

AdminResponse InfoAnswer(const config::Config& config, std::string_view role) {
  std::string out = "{\"version\":";
  AppendJsonStringLossy(out, BuildVersion());
  out += ",\"commit\":";
  AppendJsonStringLossy(out, BuildCommit());
  out += ",\"role\":";
  AppendJsonStringLossy(out, role);
  out += ",\"time_zone\":";
  AppendJsonStringLossy(out, config.time_zone);
  out += ",\"sites\":[";
  for (std::size_t i = 0; i < config.sites.size(); ++i) {
    if (i) out += ",";
    AppendJsonStringLossy(out, config.sites[i].name);
  }
  return {200, "application/json", out + "]}\n"};
}

AdminResponse EraseAnswer(const config::Config& config, const std::string& table_prefix,
                          sink::Sink& sink, event::SuppressionList::Store& store,
                          queue::DeadLetter& dead_letter, event::SuppressionList* suppressed,
                          std::string_view body, queue::RejectedStore* rejected) {
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject())
    return BadRequest("erase: the body is not a JSON object");
  load::ErasureRequest request;
  const auto text = [&](const char* key, std::string& out) {
    auto it = doc.FindMember(key);
    if (it == doc.MemberEnd()) return true;
    if (!it->value.IsString()) return false;
    out.assign(it->value.GetString(), it->value.GetStringLength());
    return true;
  };
  if (!text("field", request.field) || !text("value", request.value) || !text("site", request.site))
    return BadRequest("erase: field, value and site are strings");
  if (auto it = doc.FindMember("dry_run"); it != doc.MemberEnd()) {
    if (!it->value.IsBool()) return BadRequest("erase: dry_run is true or false");
    request.dry_run = it->value.GetBool();
  }
  for (const auto& m : doc.GetObject()) {
    const std::string_view key(m.name.GetString(), m.name.GetStringLength());
    if (key != "field" && key != "value" && key != "site" && key != "dry_run")
      return BadRequest("erase: unknown member '" + std::string(key) + "'");
  }
  if (auto sites = load::SitesToErase(config, request); !sites.ok())
    return BadRequest(sites.status().message());
  auto report = load::Erase(config, table_prefix, sink, store, dead_letter, request,
                            std::chrono::seconds(2), rejected);
  if (suppressed) (void)suppressed->Refresh();  // its timer retries a failure
  if (!report.ok()) return ErrorAnswer(503, report.status().message());
  return {200, "application/json",
          load::AuditLine(request, *report, std::chrono::system_clock::now()) + "\n"};
}

}  // namespace oceanus::http
