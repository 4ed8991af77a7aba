// webhook / slack (see webhook.h).
#include "actions/webhook/webhook.h"

#include <rapidjson/document.h>

#include "util/http_client.h"

namespace oceanus::actions {

Status WebhookAction::Run(const tasks::Task& task) {
  const bool slack = settings_.slack;
  if (slack) {
    rapidjson::Document args;
    args.Parse(task.args.c_str(), task.args.size());
    const bool has_text = args.IsObject() && args.HasMember("text") && args["text"].IsString() &&
                          args["text"].GetStringLength() > 0;
    const bool has_blocks = args.IsObject() && args.HasMember("blocks") && args["blocks"].IsArray();
    if (!has_text && !has_blocks)
      return Status::InvalidArgument("slack message needs args.text or args.blocks");
  }
  HttpRequest request;
  request.method = "POST";
  request.url = settings_.url;
  request.body = task.args;
  request.timeout = action_.timeout;
  request.headers.emplace_back("Content-Type", "application/json; charset=utf-8");
  for (const auto& h : settings_.headers) request.headers.push_back(h);
  const std::string shown = std::string(slack ? "slack " : "webhook ") + RedactUrl(settings_.url);
  auto response = HttpFetch(request);
  if (!response.ok())
    return Status::Unavailable(Redact(response.status().message(), settings_.url, shown));
  return HttpStatusToResult(shown, response->status, response->body);
}

}  // namespace oceanus::actions
