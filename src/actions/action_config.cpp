// Parses the actions section (actions/action_config.h).
#include "actions/action_config.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "config/config.h"
#include "config/reader.h"
#include "react/template.h"

namespace oceanus::actions {
namespace {

using config::Field;
using config::Site;
using config::ValidName;

// "15/m", "15/1m", "100/s", "2/30s": at most count per period.
RateLimit ParseRateLimit(const config::Reader& r, const YAML::Node& node) {
  const std::string s = r.Str(node);
  const std::size_t slash = s.find('/');
  RateLimit limit;
  if (slash == std::string::npos || slash == 0 ||
      !std::all_of(s.begin(), s.begin() + static_cast<long>(slash), ::isdigit) || slash > 9)
    r.Fail(node, "rate_limit is COUNT/PERIOD, e.g. 15/m or 100/10s, got '" + s + "'");
  limit.count = static_cast<unsigned>(std::stoul(s.substr(0, slash)));
  std::string period = s.substr(slash + 1);
  if (!period.empty() && !std::isdigit(static_cast<unsigned char>(period[0])))
    period = "1" + period;
  // The duration syntax, with errors reported at the original node.
  auto per = ParseDuration(period);
  if (!per.ok()) r.Fail(node, "rate_limit period: " + per.status().message() + " (e.g. 15/m)");
  limit.per = *per;
  if (limit.count == 0 || limit.per.count() <= 0)
    r.Fail(node, "rate_limit needs a count and a period above zero");
  return limit;
}

// A report template file must open and compile now, not at the first report: read and
// compiled by the function the history report uses (relative paths are relative to the
// config file, as there).
void CheckTemplateFile(const config::Reader& r, const YAML::Node& node, const std::string& path) {
  auto compiled = react::LoadTemplateFile(config::ResolveConfigRelative(r.file(), path));
  if (!compiled.ok()) r.Fail(node, compiled.status().message());
}

ActionConfig ParseAction(const config::Reader& r, const YAML::Node& key, const YAML::Node& node) {
  ActionConfig a;
  a.name = key.as<std::string>();
  a.line = r.Line(key);
  if (!ValidName(a.name, true)) r.Fail(key, "action name '" + a.name + "' must match [a-z0-9_]+");
  if (!node.IsMap() || !node["type"]) r.Fail(key, "action '" + a.name + "' needs a type");
  a.type = r.Str(node["type"]);
  static const std::map<std::string, std::vector<const char*>> kKeys = {
      {"webhook", {"url", "headers"}},
      {"slack", {"url"}},
      {"smtp", {"url", "username", "password", "tls", "ca_file", "from", "to"}},
      {"sendgrid", {"endpoint", "api_key", "from", "to"}},
      {"sheets", {"endpoint", "spreadsheet_id", "key_file", "token_uri"}},
      {"history_report", {"mailer", "template", "site", "by", "period", "limit", "to"}},
  };
  auto it = kKeys.find(a.type);
  if (it == kKeys.end())
    r.Fail(node["type"], "unknown action type '" + a.type +
                             "' (expected one of: webhook, slack, smtp, sendgrid, sheets, "
                             "history_report)");
  for (const auto& kv : node) {
    const std::string k = kv.first.as<std::string>();
    if (k == "type" || k == "rate_limit" || k == "timeout" || k == "description") continue;
    if (std::find_if(it->second.begin(), it->second.end(),
                     [&](const char* allowed) { return k == allowed; }) == it->second.end()) {
      std::string list = "type, rate_limit, timeout";
      for (const char* allowed : it->second) list += ", " + std::string(allowed);
      r.Fail(kv.first, "unknown key '" + k + "' in action '" + a.name + "' of type " + a.type +
                           " (expected one of: " + list + ")");
    }
  }
  if (node["url"]) a.url = r.Str(node["url"]);
  if (const auto& h = node["headers"]) {
    if (!h.IsMap()) r.Fail(h, "headers is a mapping of name: value");
    for (const auto& kv : h) a.headers.emplace_back(kv.first.as<std::string>(), r.Str(kv.second));
  }
  if (node["username"]) a.username = r.Str(node["username"]);
  if (node["password"]) a.password = r.Str(node["password"]);
  if (node["tls"]) {
    a.tls = r.Str(node["tls"]);
    if (a.tls != "none" && a.tls != "try" && a.tls != "require")
      r.Fail(node["tls"], "tls is none, try (STARTTLS when offered) or require");
  }
  if (node["ca_file"]) a.ca_file = r.Str(node["ca_file"]);
  if (node["from"]) a.from = r.Str(node["from"]);
  if (const auto& to = node["to"]) {
    if (to.IsSequence()) {
      a.to = r.StrList(to);
    } else {
      // "a@x, b@y" from one environment variable.
      std::string list = r.Str(to);
      std::size_t start = 0;
      while (start <= list.size()) {
        std::size_t comma = list.find(',', start);
        if (comma == std::string::npos) comma = list.size();
        std::string one = list.substr(start, comma - start);
        one.erase(0, one.find_first_not_of(" \t"));
        one.erase(one.find_last_not_of(" \t") + 1);
        if (!one.empty()) a.to.push_back(one);
        start = comma + 1;
      }
    }
  }
  if (node["api_key"]) a.api_key = r.Str(node["api_key"]);
  if (node["endpoint"]) a.endpoint = r.Str(node["endpoint"]);
  if (node["spreadsheet_id"]) a.spreadsheet_id = r.Str(node["spreadsheet_id"]);
  if (node["key_file"]) a.key_file = r.Str(node["key_file"]);
  if (node["token_uri"]) a.token_uri = r.Str(node["token_uri"]);
  if (node["mailer"]) a.mailer = r.Str(node["mailer"]);
  if (node["template"]) a.template_path = r.Str(node["template"]);
  if (node["site"]) a.site = r.Str(node["site"]);
  if (node["by"]) {
    a.by = r.Str(node["by"]);
    if (!ValidName(a.by, false)) r.Fail(node["by"], "by must be a field name (sid or uid)");
  }
  if (node["period"]) a.period = r.Duration(node["period"]);
  if (node["limit"]) a.limit = static_cast<unsigned>(r.Unsigned(node["limit"], 100'000));
  if (node["rate_limit"]) a.rate_limit = ParseRateLimit(r, node["rate_limit"]);
  if (node["timeout"]) a.timeout = r.Duration(node["timeout"]);
  if (a.type == "sendgrid" && a.endpoint.empty()) a.endpoint = "https://api.sendgrid.com";
  if (a.type == "sheets" && a.endpoint.empty()) a.endpoint = "https://sheets.googleapis.com";
  // Where the action sends: empty means "not configured here" (reported at start, skipped).
  if (a.type == "webhook" || a.type == "slack" || a.type == "smtp") a.configured = !a.url.empty();
  if (a.type == "sendgrid") a.configured = !a.api_key.empty();
  if (a.type == "sheets") a.configured = !a.spreadsheet_id.empty();
  if ((a.type == "smtp" || a.type == "sendgrid") && a.configured && a.from.empty())
    r.Fail(key, "action '" + a.name + "' needs from: (the sender address)");
  if (a.type == "smtp" && !a.url.empty() && a.url.rfind("smtp://", 0) != 0 &&
      a.url.rfind("smtps://", 0) != 0)
    r.Fail(node["url"], "smtp url is smtp://host:port or smtps://host:port");
  if (a.type == "history_report") {
    if (a.mailer.empty())
      r.Fail(key, "history_report '" + a.name + "' needs mailer: (a mail action)");
    if (a.template_path.empty())
      r.Fail(key, "history_report '" + a.name + "' needs template: (an HTML mustache file)");
    if (a.site.empty())
      r.Fail(key, "history_report '" + a.name + "' needs site: (whose tables to read)");
    if (a.limit == 0) r.Fail(node["limit"], "limit must be at least 1");
  }
  return a;
}

}  // namespace

const ActionConfig* FindAction(const std::vector<ActionConfig>& actions, std::string_view name) {
  for (const auto& a : actions)
    if (a.name == name) return &a;
  return nullptr;
}

std::vector<ActionConfig> ParseActions(const config::Reader& r, const YAML::Node& actions,
                                       const config::Config& shared) {
  std::vector<ActionConfig> out;
  if (!actions) return out;
  if (!actions.IsMap()) r.Fail(actions, "actions is a mapping of name to settings");
  for (const auto& kv : actions) {
    ActionConfig a = ParseAction(r, kv.first, kv.second);
    if (FindAction(out, a.name) != nullptr)
      r.Fail(kv.first, "action '" + a.name + "' is defined twice");
    out.push_back(std::move(a));
  }
  for (ActionConfig& a : out) {
    if (a.type != "history_report") continue;
    const YAML::Node node = actions[a.name];
    const ActionConfig* mailer = FindAction(out, a.mailer);
    if (mailer == nullptr || (mailer->type != "smtp" && mailer->type != "sendgrid"))
      r.Fail(node["mailer"], "history_report '" + a.name + "': mailer '" + a.mailer +
                                 "' is not an smtp or sendgrid action");
    const Site* site = shared.FindSite(a.site);
    if (site == nullptr)
      r.Fail(node["site"],
             "history_report '" + a.name + "': site '" + a.site + "' is not configured");
    // The report looks the visitor up by this column (the sinks refuse any other).
    if (std::none_of(site->schema.begin(), site->schema.end(),
                     [&](const Field& f) { return f.name == a.by; }))
      r.Fail(node["by"] ? node["by"] : node["site"],
             "history_report '" + a.name + "': site '" + a.site + "' has no field '" + a.by + "'");
    // A report nobody can send is as unconfigured as its mailer (and its template unread,
    // as at run).
    a.configured = mailer->configured;
    if (a.configured) CheckTemplateFile(r, node["template"], a.template_path);
  }

  return out;
}

}  // namespace oceanus::actions
