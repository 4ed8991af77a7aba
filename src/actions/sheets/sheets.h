// sheets: append a row to a Google Sheets worksheet, creating the worksheet when missing.
//
// Step arguments: `sheet` (the worksheet title, e.g. "not_found_{{date_local}}": the original
// kept one worksheet per day) and `row` (a list of cell values). The row goes in with
// spreadsheets.values.append (valueInputOption RAW: a value that looks like a formula stays
// text); when Google answers that the range cannot be parsed (no such worksheet) the action
// adds it with spreadsheets.batchUpdate addSheet and appends again. Auth is the service
// account code BigQuery uses, with the spreadsheets scope.
#pragma once

#include <memory>
#include <string>

#include "actions/action.h"
#include "actions/sheets/sheets_config.h"
#include "google/auth.h"

namespace oceanus::actions {

class SheetsAction final : public Action {
 public:
  SheetsAction(const ActionConfig& action, const SheetsSettings& settings,
               std::unique_ptr<google::TokenSource> tokens)
      : action_(action), settings_(settings), tokens_(std::move(tokens)) {}
  Status Run(const tasks::Task& task) override;

 private:
  Status Append(const std::string& token, const std::string& sheet, const std::string& values,
                bool* missing_sheet);
  Status AddSheet(const std::string& token, const std::string& sheet);

  const ActionConfig& action_;
  const SheetsSettings& settings_;
  std::unique_ptr<google::TokenSource> tokens_;
};

// "'Sheet ''1'''!A1": A1 notation for the first cell of a worksheet, quoted.
std::string SheetRange(const std::string& title);

}  // namespace oceanus::actions
