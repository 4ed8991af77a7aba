// action type `sheets`: endpoint (default https://sheets.googleapis.com), spreadsheet_id,
// key_file (a service-account key; empty = GOOGLE_APPLICATION_CREDENTIALS), token_uri.
// Registered in the action registry (actions/action_registry.h).
#pragma once

#include <iosfwd>
#include <memory>
#include <string>

#include "actions/action_registry.h"

namespace oceanus::actions {

class SheetsSettings final : public ActionSettings {
 public:
  std::string endpoint = "https://sheets.googleapis.com";
  std::string spreadsheet_id;  // empty: not configured here
  std::string key_file;
  std::string token_uri;  // overrides the key's token_uri

  std::string MissingAddress() const override { return "spreadsheet_id is empty"; }
  // The service-account key is read and a probe signature made, before anything starts.
  Status Check() const override;
  // Tokens with the spreadsheets scope.
  Result<std::unique_ptr<Action>> Make(const ActionConfig& self,
                                       const ActionEnv& env) const override;
  // endpoint (redacted), spreadsheet_id, key_file, token_uri.
  void Describe(std::ostream& out) const override;
};

}  // namespace oceanus::actions
