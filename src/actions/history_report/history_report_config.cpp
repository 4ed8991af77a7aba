// The history_report action's settings and factory (see history_report_config.h), with the
// cross-checks against the other actions and the sites once all are parsed.
#include "actions/history_report/history_report_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <ostream>

#include "actions/history_report/history_report.h"
#include "actions/mail.h"
#include "config/config.h"
#include "config/reader.h"
#include "mustache/template.h"

namespace oceanus::actions {
namespace {

using config::ValidName;

const HistoryReportSettings& Settings(const ActionConfig& a) {
  return static_cast<const HistoryReportSettings&>(*a.settings);
}

// A report template file must open and compile now, not at the first report: read and
// compiled by the function the history report uses (relative paths are relative to the
// config file, as there).
void CheckTemplateFile(const config::Reader& r, const YAML::Node& node, const std::string& path) {
  auto compiled = mustache::LoadTemplateFile(config::ResolveConfigRelative(r.file(), path));
  if (!compiled.ok()) r.Fail(node, compiled.status().message());
}

class HistoryReportFactory final : public ActionFactory {
 public:
  std::vector<const char*> Keys() const override {
    return {"mailer", "template", "site", "by", "period", "limit", "to"};
  }

  std::shared_ptr<ActionSettings> Parse(const config::Reader& r, const YAML::Node& key,
                                        const YAML::Node& node, ActionConfig& self) const override {
    auto s = std::make_shared<HistoryReportSettings>();
    if (node["to"]) s->to = ParseAddressList(r, node["to"]);
    if (node["mailer"]) s->mailer = r.Str(node["mailer"]);
    if (node["template"]) s->template_path = r.Str(node["template"]);
    if (node["site"]) s->site = r.Str(node["site"]);
    if (node["by"]) {
      s->by = r.Str(node["by"]);
      if (!ValidName(s->by, false)) r.Fail(node["by"], "by must be a field name (sid or uid)");
    }
    if (node["period"]) s->period = r.Duration(node["period"]);
    if (node["limit"]) s->limit = static_cast<unsigned>(r.Unsigned(node["limit"], 100'000));
    const std::string& name = self.name;
    if (s->mailer.empty())
      r.Fail(key, "history_report '" + name + "' needs mailer: (a mail action)");
    if (s->template_path.empty())
      r.Fail(key, "history_report '" + name + "' needs template: (an HTML mustache file)");
    if (s->site.empty())
      r.Fail(key, "history_report '" + name + "' needs site: (whose tables to read)");
    if (s->limit == 0) r.Fail(node["limit"], "limit must be at least 1");
    self.configured = true;  // until Link has seen the mailer
    return s;
  }

  // The mailer is a mail action, the site exists and has the `by` field, and the template
  // compiles; a report nobody can send is as unconfigured as its mailer (and its template
  // unread, as at run).
  void Link(const config::Reader& r, const YAML::Node& node, ActionConfig& self,
            const std::vector<ActionConfig>& all, const config::Config& shared) const override {
    const HistoryReportSettings& s = Settings(self);
    const std::string& name = self.name;
    const ActionConfig* mailer = FindAction(all, s.mailer);
    if (mailer == nullptr || dynamic_cast<const MailerSettings*>(mailer->settings.get()) == nullptr)
      r.Fail(node["mailer"], "history_report '" + name + "': mailer '" + s.mailer +
                                 "' is not an smtp or sendgrid action");
    const config::Site* site = shared.FindSite(s.site);
    if (site == nullptr)
      r.Fail(node["site"],
             "history_report '" + name + "': site '" + s.site + "' is not configured");
    // The report looks the visitor up by this column (the sinks refuse any other).
    if (std::none_of(site->schema.begin(), site->schema.end(),
                     [&](const config::Field& f) { return f.name == s.by; }))
      r.Fail(node["by"] ? node["by"] : node["site"],
             "history_report '" + name + "': site '" + s.site + "' has no field '" + s.by + "'");
    self.configured = mailer->configured;
    if (self.configured) CheckTemplateFile(r, node["template"], s.template_path);
  }
};

}  // namespace

Result<std::unique_ptr<Action>> HistoryReportSettings::Make(const ActionConfig& self,
                                                            const ActionEnv& env) const {
  if (env.history == nullptr) return Status::InvalidArgument("the sink cannot be queried");
  auto report = HistoryReportAction::Create(self, *this, env, *env.history);
  if (!report.ok()) return report.status();
  return std::unique_ptr<Action>(std::move(report).value());
}

void HistoryReportSettings::Describe(std::ostream& out) const {
  out << "  mailer: " << mailer << "\n"
      << "  template: " << template_path << "\n"
      << "  site: " << site << "\n"
      << "  by: " << by << "\n"
      << "  period: " << period.count() << " ms\n"
      << "  limit: " << limit << "\n"
      << "  to:";
  for (const auto& one : to) out << " " << one;
  out << (to.empty() ? " (the mailer's)\n" : "\n");
}

OCEANUS_REGISTER(ActionFactory, HistoryReportFactory, "history_report");

}  // namespace oceanus::actions
