// What the mail actions share (see mail.h): the sender keys, the step's arguments, the
// action over a mailer.
#include "actions/mail.h"

#include <rapidjson/document.h>
#include <yaml-cpp/yaml.h>

#include <ostream>

#include "config/reader.h"

namespace oceanus::actions {

Result<std::unique_ptr<Action>> MailerSettings::Make(const ActionConfig& self,
                                                     const ActionEnv& env) const {
  (void)env;
  return std::unique_ptr<Action>(std::make_unique<MailAction>(MakeMailer(self)));
}

void MailerSettings::ParseSender(const config::Reader& r, const YAML::Node& node) {
  if (node["from"]) from = r.Str(node["from"]);
  if (node["to"]) to = ParseAddressList(r, node["to"]);
}

void MailerSettings::RequireSender(const config::Reader& r, const YAML::Node& key,
                                   const ActionConfig& self) const {
  if (self.configured && from.empty())
    r.Fail(key, "action '" + self.name + "' needs from: (the sender address)");
}

void MailerSettings::DescribeSender(std::ostream& out) const {
  out << "  from: " << from << "\n  to:";
  for (const auto& one : to) out << " " << one;
  out << (to.empty() ? " (from the step's args)\n" : "\n");
}

Status MailFromArgs(const std::string& args_json, const Mailer& mailer,
                    const std::vector<std::string>& default_to, Mail& mail, bool need_body) {
  rapidjson::Document args;
  args.Parse(args_json.c_str(), args_json.size());
  if (!args.IsObject()) return Status::InvalidArgument("mail arguments are not an object");
  auto str = [&](const char* key) -> std::string {
    auto it = args.FindMember(key);
    return it != args.MemberEnd() && it->value.IsString()
               ? std::string(it->value.GetString(), it->value.GetStringLength())
               : std::string();
  };
  mail.from = mailer.settings().from;
  mail.subject = str("subject");
  if (mail.text.empty()) mail.text = str("text");
  if (mail.html.empty()) mail.html = str("html");
  mail.to.clear();
  if (auto it = args.FindMember("to"); it != args.MemberEnd()) {
    auto add = [&](std::string_view list) {
      std::size_t start = 0;
      while (start <= list.size()) {
        std::size_t comma = list.find(',', start);
        if (comma == std::string_view::npos) comma = list.size();
        std::string one(list.substr(start, comma - start));
        one.erase(0, one.find_first_not_of(" \t"));
        one.erase(one.find_last_not_of(" \t") + 1);
        if (!one.empty()) mail.to.push_back(one);
        start = comma + 1;
      }
    };
    if (it->value.IsString())
      add(std::string_view(it->value.GetString(), it->value.GetStringLength()));
    if (it->value.IsArray())
      for (const auto& v : it->value.GetArray())
        if (v.IsString()) add(std::string_view(v.GetString(), v.GetStringLength()));
  }
  if (mail.to.empty()) mail.to = default_to;
  if (mail.to.empty())
    return Status::InvalidArgument("mail has no recipient (set to: on action '" +
                                   mailer.action().name + "' or in the step's args)");
  for (const auto& to : mail.to)
    if (to.find('@') == std::string::npos || to.find_first_of("<>\r\n ") != std::string::npos)
      return Status::InvalidArgument("'" + to + "' is not a mail address");
  if (need_body && mail.text.empty() && mail.html.empty())
    return Status::InvalidArgument("mail has neither text nor html");
  return Status::Ok();
}

Status MailAction::Run(const tasks::Task& task) {
  Mail mail;
  if (Status s = MailFromArgs(task.args, *mailer_, mailer_->settings().to, mail, true); !s.ok())
    return s;
  return mailer_->Send(mail);
}

}  // namespace oceanus::actions
