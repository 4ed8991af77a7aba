// The sheets action's settings and factory (see sheets_config.h).
#include "actions/sheets/sheets_config.h"

#include <yaml-cpp/yaml.h>

#include <ostream>

#include "actions/sheets/sheets.h"
#include "config/reader.h"
#include "google/auth.h"

namespace oceanus::actions {
namespace {

class SheetsFactory final : public ActionFactory {
 public:
  std::vector<const char*> Keys() const override {
    return {"endpoint", "spreadsheet_id", "key_file", "token_uri"};
  }

  std::shared_ptr<ActionSettings> Parse(const config::Reader& r, const YAML::Node& key,
                                        const YAML::Node& node, ActionConfig& self) const override {
    (void)key;
    auto s = std::make_shared<SheetsSettings>();
    if (node["endpoint"]) s->endpoint = r.Str(node["endpoint"]);
    if (node["spreadsheet_id"]) s->spreadsheet_id = r.Str(node["spreadsheet_id"]);
    if (node["key_file"]) s->key_file = r.Str(node["key_file"]);
    if (node["token_uri"]) s->token_uri = r.Str(node["token_uri"]);
    if (s->endpoint.empty()) s->endpoint = "https://sheets.googleapis.com";
    self.configured = !s->spreadsheet_id.empty();
    return s;
  }
};

}  // namespace

Status SheetsSettings::Check() const {
  auto tokens = google::MakeTokenSource(key_file, {});
  return tokens.ok() ? Status::Ok() : tokens.status();
}

Result<std::unique_ptr<Action>> SheetsSettings::Make(const ActionConfig& self,
                                                     const ActionEnv& env) const {
  (void)env;
  google::TokenOptions options;
  options.scope = "https://www.googleapis.com/auth/spreadsheets";
  options.token_uri_override = token_uri;
  auto tokens = google::MakeTokenSource(key_file, options);
  if (!tokens.ok()) return tokens.status();
  return std::unique_ptr<Action>(
      std::make_unique<SheetsAction>(self, *this, std::move(tokens).value()));
}

void SheetsSettings::Describe(std::ostream& out) const {
  out << "  endpoint: " << RedactUrl(endpoint) << "\n"
      << "  spreadsheet_id: " << (spreadsheet_id.empty() ? "(empty)" : spreadsheet_id) << "\n"
      << "  key_file: " << (key_file.empty() ? "(GOOGLE_APPLICATION_CREDENTIALS)" : key_file)
      << "\n";
  if (!token_uri.empty()) out << "  token_uri: " << RedactUrl(token_uri) << "\n";
}

OCEANUS_REGISTER(ActionFactory, SheetsFactory, "sheets");

}  // namespace oceanus::actions
