// MakeActions (see registry.h).
#include "actions/registry.h"

#include "actions/history_report.h"
#include "actions/mail.h"
#include "actions/sheets.h"
#include "actions/webhook.h"
#include "google/auth.h"

namespace oceanus::actions {

Result<ActionMap> MakeActions(const app::Config& config, const TimeZone& tz,
                              sink::HistorySource* history) {
  ActionMap out;
  for (const auto& a : config.actions) {
    if (!a.configured) continue;
    if (a.type == "webhook" || a.type == "slack") {
      out.emplace(a.name, std::make_unique<WebhookAction>(a));
    } else if (a.type == "smtp" || a.type == "sendgrid") {
      out.emplace(a.name, std::make_unique<MailAction>(MakeMailer(a)));
    } else if (a.type == "sheets") {
      google::TokenOptions options;
      options.scope = "https://www.googleapis.com/auth/spreadsheets";
      options.token_uri_override = a.token_uri;
      auto tokens = google::MakeTokenSource(a.key_file, options);
      if (!tokens.ok())
        return Status::InvalidArgument("action '" + a.name + "': " + tokens.status().message());
      out.emplace(a.name, std::make_unique<SheetsAction>(a, std::move(tokens).value()));
    } else if (a.type == "history_report") {
      const actions::ActionConfig* mailer = config.FindAction(a.mailer);
      if (!mailer->configured) continue;  // nobody to send it through
      if (history == nullptr)
        return Status::InvalidArgument("action '" + a.name + "': the sink cannot be queried");
      auto report = HistoryReportAction::Create(config, a, tz, *history);
      if (!report.ok()) return report.status();
      out.emplace(a.name, std::move(report).value());
    }
  }
  return out;
}

}  // namespace oceanus::actions
