// Response bytes; see responses.h.
#include "http/responses.h"

#include <charconv>

namespace oceanus::http {
namespace {

constexpr std::string_view kGif(
    "GIF89a\x01\x00\x01\x00\x80\x01\x00\x00\x00\x00\xff\xff\xff\x21\xf9\x04\x01\x00\x00\x00\x00"
    "\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00\x3b",
    43);

constexpr std::string_view kNoCache =
    "Cache-Control: no-cache, no-store, must-revalidate\r\n"
    "Pragma: no-cache\r\n"
    "Expires: Thu, 01 Jan 1970 00:00:00 GMT\r\n";

constexpr std::string_view kCors = "Access-Control-Allow-Origin: *\r\n";

constexpr std::string_view kPreflight =
    "Access-Control-Allow-Methods: GET, POST, OPTIONS\r\n"
    "Access-Control-Allow-Headers: Content-Type\r\n"
    "Access-Control-Max-Age: 86400\r\n";

void AppendNumber(std::string& out, std::size_t n) {
  char buf[24];
  out.append(buf, std::to_chars(buf, buf + sizeof buf, n).ptr);
}

}  // namespace

std::string_view TransparentGif() { return kGif; }

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
}

void AppendResponse(std::string& out, const collect::Outcome& o, bool keep_alive,
                    std::string_view date) {
  out += "HTTP/1.1 ";
  AppendNumber(out, static_cast<std::size_t>(o.status));
  out += ' ';
  out += ReasonPhrase(o.status);
  out += "\r\nServer: oceanus\r\nDate: ";
  out += date;
  out += "\r\n";
  out += kCors;
  if (!o.event_id.empty()) {
    out += "X-Oceanus-Eid: ";
    out += o.event_id;
    out += "\r\n";
  }
  std::string_view body;
  switch (o.answer) {
    case collect::Answer::kGif:
      out += "Content-Type: image/gif\r\n";
      out += kNoCache;
      body = kGif;
      break;
    case collect::Answer::kText:
      out += "Content-Type: text/plain; charset=utf-8\r\n";
      if (o.status == 200) out += kNoCache;
      if (o.status == 405 && !o.allow.empty()) {
        out += "Allow: ";
        out += o.allow;
        out += "\r\n";
      }
      if (o.status == 503) out += "Retry-After: 1\r\n";
      body = o.body;
      break;
    case collect::Answer::kRedirect:
      out += "Location: ";
      out += o.location;
      out += "\r\n";
      out += kNoCache;
      break;
    case collect::Answer::kPreflight:
      if (o.preflight_headers.empty()) {
        out += kPreflight;
      } else {
        out += "Access-Control-Allow-Methods: POST, OPTIONS\r\nAccess-Control-Allow-Headers: ";
        out += o.preflight_headers;
        out += "\r\nAccess-Control-Max-Age: 86400\r\n";
      }
      break;
    case collect::Answer::kJson:
      out += "Content-Type: application/json\r\n";
      if (o.status == 503) out += "Retry-After: 1\r\n";
      if (o.status == 405 && !o.allow.empty()) {
        out += "Allow: ";
        out += o.allow;
        out += "\r\n";
      }
      body = o.body;
      break;
    case collect::Answer::kNoContent:
      out += "Cache-Control: max-age=86400\r\n";
      break;
    case collect::Answer::kScript:
      out += "Content-Type: application/javascript; charset=utf-8\r\n";
      out += "Cache-Control: public, max-age=3600\r\nETag: ";
      out += o.etag;
      out += "\r\n";
      body = o.content;
      break;
  }
  out += "Content-Length: ";
  AppendNumber(out, body.size());
  out += keep_alive && !o.close ? "\r\nConnection: keep-alive\r\n\r\n"
                                : "\r\nConnection: close\r\n\r\n";
  if (!o.omit_body) out += body;
}

}  // namespace oceanus::http
