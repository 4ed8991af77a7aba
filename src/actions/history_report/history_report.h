// history_report: mail someone what one visitor did recently.
//
// The original's document-request hook: 90 s after a form submission, read that visitor's
// events of the last day from the warehouse (by `sid`, newest first, at most 150), render
// them with the request into an HTML mail and send it. Here the subject column (`by`), the
// site whose tables are read (`site`), the period, the limit, the template (mustache, HTML
// escaping on) and the mail action are config; the step's arguments give `subject` and
// optionally `to`.
//
// The template sees: `event` (the triggering record, plus `dt_local`), `history` (a list of
// records, each with `dt_local`), `count`, `has_history`, `by`, `key` (the subject's value),
// `site`, `history_site`, `limit`, `time_zone`, `generated_local`.
#pragma once

#include <memory>
#include <string>

#include "actions/action.h"
#include "actions/history_report/history_report_config.h"
#include "actions/mail.h"
#include "config/config.h"
#include "mustache/template.h"
#include "sink/history.h"
#include "util/time.h"

namespace oceanus::actions {

class HistoryReportAction final : public Action {
 public:
  // Reads and compiles the template and makes the mailer's Mailer; the error names the
  // file. `self` (whose settings `settings` are) and what `env` refers to outlive it.
  static Result<std::unique_ptr<HistoryReportAction>> Create(const ActionConfig& self,
                                                             const HistoryReportSettings& settings,
                                                             const ActionEnv& env,
                                                             sink::HistorySource& history);
  Status Run(const tasks::Task& task) override;

  // The HTML for a task, without sending it (tests, previews).
  Result<std::string> Render(const tasks::Task& task);

 private:
  HistoryReportAction(const HistoryReportSettings& settings, const config::Site& site, TimeZone tz,
                      sink::HistorySource& history, mustache::Template page,
                      std::unique_ptr<Mailer> mailer)
      : action_(settings),
        site_(site),
        tz_(std::move(tz)),
        history_(history),
        page_(std::move(page)),
        mailer_(std::move(mailer)) {}

  const HistoryReportSettings& action_;
  const config::Site& site_;
  TimeZone tz_;
  sink::HistorySource& history_;
  mustache::Template page_;
  std::unique_ptr<Mailer> mailer_;
};

}  // namespace oceanus::actions
