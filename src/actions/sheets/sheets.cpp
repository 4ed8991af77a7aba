// Google Sheets rows (see sheets.h).
#include "actions/sheets/sheets.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "util/http_client.h"

namespace oceanus::actions {

std::string SheetRange(const std::string& title) {
  std::string out = "'";
  for (char c : title) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'!A1";
}

Status SheetsAction::Append(const std::string& token, const std::string& sheet,
                            const std::string& values, bool* missing_sheet) {
  HttpRequest request;
  request.method = "POST";
  request.url = settings_.endpoint + "/v4/spreadsheets/" + FormEncode(settings_.spreadsheet_id) +
                "/values/" + FormEncode(SheetRange(sheet)) +
                ":append?valueInputOption=RAW&insertDataOption=INSERT_ROWS";
  request.body = values;
  request.timeout = action_.timeout;
  request.headers = {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}};
  auto response = HttpFetch(request);
  if (!response.ok()) return response.status();
  *missing_sheet =
      response->status == 400 && response->body.find("Unable to parse range") != std::string::npos;
  return HttpStatusToResult("sheets values.append", response->status, response->body);
}

Status SheetsAction::AddSheet(const std::string& token, const std::string& sheet) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("requests");
  w.StartArray();
  w.StartObject();
  w.Key("addSheet");
  w.StartObject();
  w.Key("properties");
  w.StartObject();
  w.Key("title");
  w.String(sheet);
  w.EndObject();
  w.EndObject();
  w.EndObject();
  w.EndArray();
  w.EndObject();
  HttpRequest request;
  request.method = "POST";
  request.url = settings_.endpoint + "/v4/spreadsheets/" + FormEncode(settings_.spreadsheet_id) +
                ":batchUpdate";
  request.body = buffer.GetString();
  request.timeout = action_.timeout;
  request.headers = {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}};
  auto response = HttpFetch(request);
  if (!response.ok()) return response.status();
  // Another worker may have added it a moment ago: that is what we wanted.
  if (response->status == 400 && response->body.find("already exists") != std::string::npos)
    return Status::Ok();
  return HttpStatusToResult("sheets addSheet", response->status, response->body);
}

Status SheetsAction::Run(const tasks::Task& task) {
  rapidjson::Document args;
  args.Parse(task.args.c_str(), task.args.size());
  if (!args.IsObject() || !args.HasMember("sheet") || !args["sheet"].IsString() ||
      args["sheet"].GetStringLength() == 0)
    return Status::InvalidArgument("sheets step needs args.sheet (the worksheet title)");
  if (!args.HasMember("row") || !args["row"].IsArray())
    return Status::InvalidArgument("sheets step needs args.row (a list of cells)");
  const std::string sheet = args["sheet"].GetString();
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("majorDimension");
  w.String("ROWS");
  w.Key("values");
  w.StartArray();
  args["row"].Accept(w);
  w.EndArray();
  w.EndObject();
  auto token = tokens_->Token();
  if (!token.ok()) return token.status();
  bool missing = false;
  Status s = Append(*token, sheet, buffer.GetString(), &missing);
  if (s.ok() || !missing) return s;
  if (Status added = AddSheet(*token, sheet); !added.ok()) return added;
  return Append(*token, sheet, buffer.GetString(), &missing);
}

}  // namespace oceanus::actions
