// The SendGrid mailer (see sendgrid.h): the v3 mail/send body, written with RapidJSON.
#include "actions/sendgrid/sendgrid.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <utility>

#include "util/http_client.h"

namespace oceanus::actions {

Status SendGridMailer::Send(const Mail& mail) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("personalizations");
  w.StartArray();
  w.StartObject();
  w.Key("to");
  w.StartArray();
  for (const auto& to : mail.to) {
    w.StartObject();
    w.Key("email");
    w.String(to);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  w.EndArray();
  w.Key("from");
  w.StartObject();
  w.Key("email");
  w.String(mail.from);
  w.EndObject();
  w.Key("subject");
  w.String(mail.subject);
  w.Key("content");
  w.StartArray();
  // SendGrid wants text/plain before text/html.
  for (const auto& [type, value] :
       {std::pair<const char*, const std::string&>{"text/plain", mail.text},
        std::pair<const char*, const std::string&>{"text/html", mail.html}}) {
    if (value.empty()) continue;
    w.StartObject();
    w.Key("type");
    w.String(type);
    w.Key("value");
    w.String(value);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  HttpRequest request;
  request.method = "POST";
  request.url = settings_.endpoint + "/v3/mail/send";
  request.body = buffer.GetString();
  request.timeout = action_.timeout;
  request.headers = {{"Authorization", "Bearer " + settings_.api_key},
                     {"Content-Type", "application/json"}};
  auto response = HttpFetch(request);
  if (!response.ok()) return response.status();
  return HttpStatusToResult("sendgrid " + settings_.endpoint, response->status, response->body);
}

}  // namespace oceanus::actions
