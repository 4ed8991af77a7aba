// The SMTP mailer (see smtp.h): the MIME message, sent through libcurl.
#include "actions/smtp/smtp.h"

#include <curl/curl.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <ctime>
#include <random>

#include "util/base64.h"

namespace oceanus::actions {

namespace {

std::string Base64Lines(std::string_view in) {
  const std::string b = EncodeBase64(in);
  std::string out;
  for (std::size_t i = 0; i < b.size(); i += 76) out += b.substr(i, 76) + "\r\n";
  return out;
}

bool IsAscii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80 || c == '\r' || c == '\n') return false;
  return true;
}

// RFC 2047 for a header value that is not plain ASCII (Japanese subjects, names).
std::string EncodeHeader(std::string_view value) {
  if (IsAscii(value)) return std::string(value);
  return "=?UTF-8?B?" + EncodeBase64(value) + "?=";
}

// Header values must not carry CR/LF: a rendered subject could otherwise add headers.
std::string OneLine(std::string s) {
  for (char& c : s)
    if (c == '\r' || c == '\n') c = ' ';
  return s;
}

std::string Join(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : sep) + i;
  return out;
}

std::string RfcDate() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

std::string NewMessageId(const std::string& from) {
  static std::atomic<std::uint64_t> counter{0};
  std::random_device rd;
  const std::size_t at = from.find('@');
  const std::string domain = at == std::string::npos ? "oceanus.local" : from.substr(at + 1);
  return "<" + std::to_string(std::time(nullptr)) + "." + std::to_string(::getpid()) + "." +
         std::to_string(counter++) + "." + std::to_string(rd()) + "@" + OneLine(domain) + ">";
}

struct UploadState {
  std::string_view data;
  std::size_t offset = 0;
};

size_t ReadPayload(char* buffer, size_t size, size_t n, void* user) {
  auto* state = static_cast<UploadState*>(user);
  const std::size_t room = size * n;
  const std::size_t left = state->data.size() - state->offset;
  const std::size_t len = std::min(room, left);
  std::memcpy(buffer, state->data.data() + state->offset, len);
  state->offset += len;
  return len;
}

size_t Discard(char*, size_t size, size_t n, void*) { return size * n; }

}  // namespace

std::string BuildMimeMessage(const Mail& mail, const std::string& date,
                             const std::string& message_id) {
  std::string m;
  m += "Date: " + date + "\r\n";
  m += "From: " + OneLine(mail.from) + "\r\n";
  m += "To: " + OneLine(Join(mail.to, ", ")) + "\r\n";
  m += "Subject: " + EncodeHeader(OneLine(mail.subject)) + "\r\n";
  m += "Message-ID: " + message_id + "\r\n";
  m += "MIME-Version: 1.0\r\n";
  auto part = [](const char* type, const std::string& body) {
    return std::string("Content-Type: ") + type +
           "; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" + Base64Lines(body);
  };
  if (!mail.text.empty() && !mail.html.empty()) {
    const std::string boundary = "=_oceanus_" + EncodeBase64(message_id).substr(0, 24);
    m += "Content-Type: multipart/alternative; boundary=\"" + boundary + "\"\r\n\r\n";
    m += "--" + boundary + "\r\n" + part("text/plain", mail.text);
    m += "--" + boundary + "\r\n" + part("text/html", mail.html);
    m += "--" + boundary + "--\r\n";
  } else if (!mail.html.empty()) {
    m += part("text/html", mail.html);
  } else {
    m += part("text/plain", mail.text);
  }
  return m;
}

Status SmtpMailer::Send(const Mail& mail) {
  const std::string message = BuildMimeMessage(mail, RfcDate(), NewMessageId(mail.from));
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
  if (!curl) return Status::Internal("curl_easy_init failed");
  CURL* h = curl.get();
  curl_slist* rcpt = nullptr;
  for (const auto& to : mail.to) rcpt = curl_slist_append(rcpt, ("<" + to + ">").c_str());
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> rcpt_list(rcpt, &curl_slist_free_all);
  UploadState upload{message};
  const std::string from = "<" + mail.from + ">";
  curl_easy_setopt(h, CURLOPT_URL, settings_.url.c_str());
  curl_easy_setopt(h, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
  curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(h, CURLOPT_READFUNCTION, &ReadPayload);
  curl_easy_setopt(h, CURLOPT_READDATA, &upload);
  curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(message.size()));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &Discard);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(action_.timeout.count()));
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  if (!settings_.username.empty()) {
    curl_easy_setopt(h, CURLOPT_USERNAME, settings_.username.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, settings_.password.c_str());
  }
  if (settings_.url.rfind("smtps://", 0) != 0) {
    curl_easy_setopt(h, CURLOPT_USE_SSL,
                     settings_.tls == "require" ? CURLUSESSL_ALL
                     : settings_.tls == "try"   ? CURLUSESSL_TRY
                                                : CURLUSESSL_NONE);
  }
  if (!settings_.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, settings_.ca_file.c_str());
  const CURLcode rc = curl_easy_perform(h);
  long code = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
  if (rc == CURLE_OK) return Status::Ok();
  const std::string where = "smtp " + RedactUrl(settings_.url);
  std::string msg = where + ": " + curl_easy_strerror(rc);
  if (code) msg += " (server answered " + std::to_string(code) + ")";
  // 5xx from the server (rejected recipient, bad credentials) will not pass by retrying;
  // 4xx (try later) and transport failures may.
  if (code >= 500 || rc == CURLE_LOGIN_DENIED) return Status::InvalidArgument(msg);
  return Status::Unavailable(msg);
}

}  // namespace oceanus::actions
