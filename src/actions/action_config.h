// The actions section of the config: the named services rules send to.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace YAML {
class Node;
}
namespace oceanus::config {
class Reader;
struct Config;
}  // namespace oceanus::config

namespace oceanus::actions {

// Per action, as in Celery's rate_limit="15/m".
struct RateLimit {
  unsigned count = 0;  // 0 = unlimited
  std::chrono::milliseconds per{60'000};
};

// A named action: how to reach a service. Rules refer to it by name and give the
// per-event arguments. An action whose address is empty is `configured = false`: reported
// once at start, and its steps are skipped.
struct ActionConfig {
  std::string name;
  std::string type;  // webhook | slack | smtp | sendgrid | sheets | history_report
  bool configured = true;
  std::string url;  // webhook/slack: the URL; smtp: smtp://host:port or smtps://
  std::vector<std::pair<std::string, std::string>> headers;  // webhook
  std::string username;                                      // smtp
  std::string password;                                      // smtp
  std::string tls = "try";      // smtp: none | try (STARTTLS if offered) | require
  std::string ca_file;          // smtp: CA bundle for the server's certificate (default: system)
  std::string from;             // smtp/sendgrid
  std::vector<std::string> to;  // smtp/sendgrid/history_report: default recipients
  std::string api_key;          // sendgrid
  std::string
      endpoint;  // sendgrid: https://api.sendgrid.com; sheets: https://sheets.googleapis.com
  std::string spreadsheet_id;  // sheets
  std::string key_file;   // sheets: service-account key; empty = GOOGLE_APPLICATION_CREDENTIALS
  std::string token_uri;  // sheets: overrides the key's token_uri
  // history_report: whose events (`by` = sid or uid), where (`site`), how far back, how many,
  // the HTML template, and which mail action sends it.
  std::string by = "sid";
  std::string site;
  std::chrono::milliseconds period{86'400'000};
  unsigned limit = 150;
  std::string template_path;
  std::string mailer;
  RateLimit rate_limit;
  std::chrono::milliseconds timeout{30'000};
  int line = 0;
};

// The actions section (a mapping of name to settings); history reports are checked against
// the sites of `shared`.
std::vector<ActionConfig> ParseActions(const config::Reader& r, const YAML::Node& node,
                                       const config::Config& shared);
const ActionConfig* FindAction(const std::vector<ActionConfig>& actions, std::string_view name);

}  // namespace oceanus::actions
