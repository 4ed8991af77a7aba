// The history report (see history_report.h).
#include "actions/history_report/history_report.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/reader.h"

namespace oceanus::actions {

namespace {

// Adds dt_local to an object that has dt.
void AddLocalTime(rapidjson::Value& obj, const TimeZone& tz,
                  rapidjson::Document::AllocatorType& a) {
  std::string local;
  if (auto it = obj.FindMember("dt"); it != obj.MemberEnd() && it->value.IsString()) {
    auto t = ParseUtcMicros(std::string_view(it->value.GetString(), it->value.GetStringLength()));
    if (t.ok()) local = FormatLocal(*t, tz);
  }
  obj.AddMember("dt_local", rapidjson::Value(local.c_str(), a), a);
}

}  // namespace

Result<std::unique_ptr<HistoryReportAction>> HistoryReportAction::Create(
    const ActionConfig& self, const HistoryReportSettings& settings, const ActionEnv& env,
    sink::HistorySource& history) {
  (void)self;
  // The same reading the config loader checked the file with.
  auto page = mustache::LoadTemplateFile(
      config::ResolveConfigRelative(env.shared.file, settings.template_path));
  if (!page.ok()) return Status::InvalidArgument(page.status().message());
  // The config loader checked both (history_report_config.cpp: Link).
  const ActionConfig* mailer = FindAction(env.actions, settings.mailer);
  const config::Site* site = env.shared.FindSite(settings.site);
  const auto& sender = static_cast<const MailerSettings&>(*mailer->settings);
  return std::unique_ptr<HistoryReportAction>(new HistoryReportAction(
      settings, *site, env.tz, history, std::move(page).value(), sender.MakeMailer(*mailer)));
}

Result<std::string> HistoryReportAction::Render(const tasks::Task& task) {
  rapidjson::Document ctx;
  ctx.SetObject();
  auto& a = ctx.GetAllocator();
  rapidjson::Value event;
  {
    rapidjson::Document parsed;
    parsed.Parse(task.event.c_str(), task.event.size());
    if (!parsed.IsObject()) return Status::InvalidArgument("task has no triggering event");
    event.CopyFrom(parsed, a);
  }
  AddLocalTime(event, tz_, a);
  std::string key;
  if (auto it = event.FindMember(action_.by.c_str());
      it != event.MemberEnd() && it->value.IsString())
    key.assign(it->value.GetString(), it->value.GetStringLength());
  if (key.empty())
    return Status::InvalidArgument("the triggering event has no " + action_.by +
                                   ": nothing to look up");
  auto rows = history_.Recent(site_, action_.by, key,
                              std::chrono::system_clock::now() - action_.period, action_.limit);
  if (!rows.ok()) return rows.status();
  rapidjson::Value history(rapidjson::kArrayType);
  for (const auto& row : *rows) {
    rapidjson::Value item(rapidjson::kObjectType);
    for (const auto& [column, value] : row)
      item.AddMember(rapidjson::Value(column.c_str(), a), rapidjson::Value(value.c_str(), a), a);
    AddLocalTime(item, tz_, a);
    history.PushBack(item, a);
  }
  const auto count = history.Size();
  ctx.AddMember("event", event, a);
  ctx.AddMember("history", history, a);
  ctx.AddMember("count", count, a);
  ctx.AddMember("has_history", count > 0, a);
  ctx.AddMember("by", rapidjson::Value(action_.by.c_str(), a), a);
  ctx.AddMember("key", rapidjson::Value(key.c_str(), a), a);
  ctx.AddMember("site", rapidjson::Value(task.site.c_str(), a), a);
  ctx.AddMember("history_site", rapidjson::Value(action_.site.c_str(), a), a);
  ctx.AddMember("limit", action_.limit, a);
  ctx.AddMember("time_zone", rapidjson::Value(tz_.name().c_str(), a), a);
  const std::string generated = FormatLocal(std::chrono::system_clock::now(), tz_);
  ctx.AddMember("generated_local", rapidjson::Value(generated.c_str(), a), a);
  return page_.Render(ctx, /*escape_html=*/true);
}

Status HistoryReportAction::Run(const tasks::Task& task) {
  Mail mail;
  const auto& default_to = action_.to.empty() ? mailer_->settings().to : action_.to;
  if (Status s = MailFromArgs(task.args, *mailer_, default_to, mail, false); !s.ok()) return s;
  if (mail.subject.empty()) mail.subject = "History of " + action_.by;
  auto html = Render(task);
  if (!html.ok()) return html.status();
  mail.html = std::move(html).value();
  mail.text.clear();
  return mailer_->Send(mail);
}

}  // namespace oceanus::actions
