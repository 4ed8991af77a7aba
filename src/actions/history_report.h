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
#include "actions/mail.h"
#include "app/config.h"
#include "react/template.h"
#include "sink/history.h"
#include "util/time.h"

namespace oceanus::actions {

class HistoryReportAction final : public Action {
 public:
  // Reads and compiles the template; the error names the file.
  static Result<std::unique_ptr<HistoryReportAction>> Create(const app::Config& config,
                                                             const actions::ActionConfig& action,
                                                             TimeZone tz,
                                                             sink::HistorySource& history);
  Status Run(const tasks::Task& task) override;

  // The HTML for a task, without sending it (tests, previews).
  Result<std::string> Render(const tasks::Task& task);

 private:
  HistoryReportAction(const app::Config& config, const actions::ActionConfig& action, TimeZone tz,
                      sink::HistorySource& history, react::Template page,
                      std::unique_ptr<Mailer> mailer)
      : config_(config),
        action_(action),
        tz_(std::move(tz)),
        history_(history),
        page_(std::move(page)),
        mailer_(std::move(mailer)) {}

  const app::Config& config_;
  const actions::ActionConfig& action_;
  TimeZone tz_;
  sink::HistorySource& history_;
  react::Template page_;
  std::unique_ptr<Mailer> mailer_;
};

}  // namespace oceanus::actions
