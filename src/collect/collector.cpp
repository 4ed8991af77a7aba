// Collector::Handle: the original's endpoints (SEED_NOTES.md) mapped onto sites and answers.
//
//   GET|POST /swallow[/{site}]  page beacons; POST takes the same parameters as a text/plain
//                               or form body (navigator.sendBeacon)       → GIF
//   POST     /pirate/{site}     form posts (form-urlencoded)              → empty text/plain
//   GET      /gaze/{site}       mail opens; evt=open|see|read is answered, after a delay,
//                               with a 302 to the same URL and the next evt → GIF at the end
//   GET      /pierce/{site}     server-side events                        → "ok"
//   GET      /hc, /lb           health                                    → "ok"
//   GET|HEAD /static/js/oceanus.js  the tracker script (web/oceanus.js), held in memory;
//                               If-None-Match with its ETag → 304; other /static/ paths 404
//   OPTIONS  anything           CORS preflight                            → 204
// An unknown site, or a site another endpoint serves, is 404; an invalid event is 400 with
// one "field: reason" line per failing field (and the parsed event for debug=1 from a client
// in an internal network: the client after the trusted-proxy walk, not the proxy).
//
// HEAD is answered wherever GET is, with GET's status and headers (Content-Length of GET's
// body included) and no body, on every path and status (RFC 9110 §9.3.2): a keep-alive client
// reads exactly the headers. HEAD is safe, so on an event endpoint the event is validated as
// for GET but neither stored nor counted as received.
//
// A target in absolute form ("http://host/swallow/site?a=1", RFC 9112 §3.2.2) is routed by
// its path and query, as the origin form would be.
#include "collect/collector.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "collect/client_ip.h"
#include "util/ascii.h"

namespace oceanus::collect {
namespace {

using config::Endpoint;

struct Route {
  std::string_view path;  // "/swallow/site"
  std::string_view query;
};

Route SplitTarget(std::string_view target) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) return {target, {}};
  return {target.substr(0, q), target.substr(q + 1)};
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// "http://host:8080/swallow/site?a=1" → "/swallow/site?a=1"; "http://host" → "/". A target
// in origin form ("/…"), or one that is neither, is returned as it is.
std::string_view OriginForm(std::string_view target) {
  if (target.empty() || target.front() == '/') return target;
  const auto scheme_end = target.find("://");
  if (scheme_end == std::string_view::npos) return target;
  const std::string_view scheme = target.substr(0, scheme_end);
  if (!AsciiIEquals(scheme, "http") && !AsciiIEquals(scheme, "https")) return target;
  const auto path = target.find_first_of("/?", scheme_end + 3);
  if (path == std::string_view::npos) return "/";
  return target.substr(path);
}

// "application/x-www-form-urlencoded; charset=UTF-8" → "application/x-www-form-urlencoded"
std::string_view MediaType(std::string_view content_type) {
  auto semi = content_type.find(';');
  std::string_view t = content_type.substr(0, semi);
  while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
  return t;
}

// If-None-Match: "*" or a list of entity tags, weak ones too ("W/" is ignored for GET).
bool EtagMatches(std::string_view if_none_match, std::string_view etag) {
  return if_none_match == "*" || if_none_match.find(etag) != std::string_view::npos;
}

void Text(Outcome& out, int status, std::string body) {
  out.answer = Answer::kText;
  out.status = status;
  out.body = std::move(body);
}

void MethodNotAllowed(Outcome& out, std::string_view allow) {
  Text(out, 405, "method not allowed\n");
  out.allow = allow;
}

}  // namespace

Result<std::shared_ptr<const Collector>> Collector::Create(
    const app::Config& config, std::shared_ptr<const event::DeviceClassifier> classifier) {
  auto c = std::shared_ptr<Collector>(new Collector());
  c->config_ = config;
  c->classifier_ = std::move(classifier);
  auto trusted = NetworkSet::Parse(config.server.trusted_proxies);
  if (!trusted.ok())
    return Status::InvalidArgument("server.trusted_proxies: " + trusted.status().message());
  c->trusted_proxies_ = *trusted;
  auto internal = NetworkSet::Parse(config.server.internal_networks);
  if (!internal.ok())
    return Status::InvalidArgument("server.internal_networks: " + internal.status().message());
  c->internal_networks_ = *internal;
  if (config.server.tracker_script.empty()) {
    c->tracker_script_ = EmbeddedTrackerScript();
  } else {
    const std::string& file = config.server.tracker_script;
    std::error_code ec;
    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    if (std::filesystem::is_regular_file(file, ec) && in) text << in.rdbuf();
    c->tracker_script_ = std::move(text).str();
    if (c->tracker_script_.empty())
      return Status::InvalidArgument("server.tracker_script: " + file +
                                     " is missing, unreadable or empty");
  }
  std::uint64_t hash = 14695981039346656037u;  // FNV-1a: the ETag only has to change with it
  for (const unsigned char b : c->tracker_script_) hash = (hash ^ b) * 1099511628211u;
  char etag[24];
  std::snprintf(etag, sizeof etag, "\"%016llx\"", static_cast<unsigned long long>(hash));
  c->tracker_etag_ = etag;
  for (std::size_t i = 0; i < config.sites.size(); ++i) {
    auto builder = event::EventBuilder::Compile(config.sites[i]);
    if (!builder.ok()) return builder.status();
    SiteEntry entry{i, config.sites[i].endpoint, std::move(builder).value(), std::nullopt,
                    std::nullopt};
    entry.evt_field = entry.builder.FieldIndex("evt");
    entry.eid_field = entry.builder.FieldIndex("eid");
    c->sites_.push_back(std::move(entry));
  }
  for (const auto& s : c->sites_)
    if (s.builder.site().name == config.default_site) c->default_swallow_ = &s;
  return std::shared_ptr<const Collector>(std::move(c));
}

const Collector::SiteEntry* Collector::Find(Endpoint endpoint, std::string_view name) const {
  for (const auto& s : sites_)
    if (s.endpoint == endpoint && s.builder.site().name == name) return &s;
  return nullptr;
}

void Collector::Handle(const Request& request, event::ThreadState& thread, Scratch& scratch,
                       Outcome& out) const {
  Request routed = request;
  routed.target = OriginForm(request.target);
  Dispatch(routed, thread, scratch, out);
  if (request.method == Method::kHead) out.omit_body = true;
}

void Collector::Dispatch(const Request& request, event::ThreadState& thread, Scratch& scratch,
                         Outcome& out) const {
  out.Reset();
  const Route route = SplitTarget(request.target);
  const std::string_view path = route.path;
  const bool get = request.method == Method::kGet || request.method == Method::kHead;

  if (request.method == Method::kOptions) {
    out.answer = Answer::kPreflight;
    out.status = 204;
    return;
  }
  if (path == "/hc" || path == "/lb") {
    out.endpoint = EndpointLabel::kHealth;
    if (!get) return MethodNotAllowed(out, "GET, HEAD, OPTIONS");
    return Text(out, 200, "ok\n");
  }
  if (StartsWith(path, "/static/")) {
    out.endpoint = EndpointLabel::kStatic;
    if (path != "/static/js/oceanus.js") return Text(out, 404, "not found\n");
    if (!get) return MethodNotAllowed(out, "GET, HEAD, OPTIONS");
    out.answer = Answer::kScript;
    out.content = tracker_script_;
    out.etag = tracker_etag_;
    if (request.headers && EtagMatches(request.headers->Get("If-None-Match"), tracker_etag_)) {
      out.status = 304;
      out.omit_body = true;
    }
    return;
  }
  if (path == "/robots.txt" || path == "/favicon.ico") out.endpoint = EndpointLabel::kStatic;
  if (path == "/robots.txt") return Text(out, 200, "User-agent: *\nDisallow: /\n");
  if (path == "/favicon.ico") {
    out.answer = Answer::kNoContent;
    out.status = 204;
    return;
  }

  static constexpr struct {
    std::string_view prefix;
    Endpoint endpoint;
    EndpointLabel label;
  } kEndpoints[] = {{"/swallow", Endpoint::kSwallow, EndpointLabel::kSwallow},
                    {"/pirate", Endpoint::kPirate, EndpointLabel::kPirate},
                    {"/gaze", Endpoint::kGaze, EndpointLabel::kGaze},
                    {"/pierce", Endpoint::kPierce, EndpointLabel::kPierce}};
  for (const auto& [prefix, endpoint, label] : kEndpoints) {
    if (!StartsWith(path, prefix)) continue;
    std::string_view rest = path.substr(prefix.size());
    if (!rest.empty() && rest[0] != '/') break;  // "/swallowx" is not ours
    out.endpoint = label;
    if (!rest.empty()) rest.remove_prefix(1);
    if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
    const SiteEntry* site = nullptr;
    if (rest.empty() && endpoint == Endpoint::kSwallow) {
      site = default_swallow_;
    } else if (rest.find('/') == std::string_view::npos) {
      site = Find(endpoint, rest);
    }
    if (site != nullptr) out.metrics_site = static_cast<int>(site->id);
    if (site == nullptr) {
      return Text(out, 404,
                  rest.empty() ? std::string("no site given and no default site\n")
                               : "unknown site for " + std::string(prefix.substr(1)) + "\n");
    }
    const bool post_ok = endpoint == Endpoint::kSwallow || endpoint == Endpoint::kPirate;
    const bool get_ok = endpoint != Endpoint::kPirate;
    if (!((get && get_ok) || (request.method == Method::kPost && post_ok))) {
      return MethodNotAllowed(out, !post_ok  ? "GET, HEAD, OPTIONS"
                                   : !get_ok ? "POST, OPTIONS"
                                             : "GET, HEAD, POST, OPTIONS");
    }
    return HandleEvent(*site, request, route.query, thread, scratch, out);
  }
  Text(out, 404, "not found\n");
}

void Collector::HandleEvent(const SiteEntry& site, const Request& request, std::string_view query,
                            event::ThreadState& thread, Scratch& scratch, Outcome& out) const {
  // Every request counted here ends as rejected (below) or queued (when the queue has it).
  // HEAD stores nothing, so it is not counted.
  const bool store = request.method != Method::kHead;
  CollectorCounters* counters = store ? request.counters : nullptr;
  if (counters) counters->Received(site.id);
  scratch.params.clear();
  if (request.method == Method::kPost) {
    const std::string_view type = MediaType(request.content_type);
    const bool form = AsciiIEquals(type, "application/x-www-form-urlencoded");
    const bool text = AsciiIEquals(type, "text/plain") || type.empty();
    if (!form && !(text && site.endpoint == Endpoint::kSwallow)) {
      if (counters) counters->Rejected(site.id, RejectReason::kMediaType);
      return Text(out, 415,
                  site.endpoint == Endpoint::kSwallow
                      ? "body must be application/x-www-form-urlencoded or text/plain\n"
                      : "body must be application/x-www-form-urlencoded\n");
    }
    // Body first: when a parameter is in both, the body's value wins (first value wins).
    if (!scratch.params.AddEncoded(request.body, &scratch.bad_param)) {
      if (counters) counters->Rejected(site.id, RejectReason::kMalformed);
      return Text(out, 400,
                  "malformed percent-encoding in parameter '" + scratch.bad_param + "'\n");
    }
  }
  if (!scratch.params.AddEncoded(query, &scratch.bad_param)) {
    if (counters) counters->Rejected(site.id, RejectReason::kMalformed);
    return Text(out, 400, "malformed percent-encoding in parameter '" + scratch.bad_param + "'\n");
  }

  const IpAddress client = ResolveClientIp(request.peer, request.x_forwarded_for, trusted_proxies_);
  char ip_text[64];
  const std::size_t ip_length = client.Format(ip_text);

  event::RequestFacts facts;
  facts.params = &scratch.params;
  facts.headers = request.headers;
  facts.user_agent = request.user_agent;
  facts.client_ip = std::string_view(ip_text, ip_length);
  facts.now = request.now;

  const bool valid = site.builder.Build(facts, thread, scratch.event);
  const auto debug = scratch.params.Get("debug");
  const bool show_debug = debug && *debug == "1" && internal_networks_.Contains(client);
  if (!valid) {
    if (counters) {
      counters->Rejected(site.id, RejectReason::kInvalid);
      for (const auto& e : scratch.event.errors) counters->FieldFailed(site.id, e);
    }
    std::string body;
    for (const auto& e : scratch.event.errors) body += e.field + ": " + e.reason + "\n";
    if (store && request.recent)
      request.recent->rejections.Add(request.now, site.id, body, request.target);
    if (show_debug) body += "\n" + site.builder.Describe(scratch.event);
    return Text(out, 400, std::move(body));
  }

  out.append = store;
  out.site = site.id;
  if (store && site.eid_field) out.event_id = scratch.event.values[*site.eid_field];
  if (show_debug) {
    return Text(out, 200, "stored:\n" + site.builder.Describe(scratch.event));
  }
  switch (site.endpoint) {
    case Endpoint::kSwallow:
      out.answer = Answer::kGif;
      break;
    case Endpoint::kPirate:
      Text(out, 200, "");
      break;
    case Endpoint::kPierce:
      Text(out, 200, "ok\n");
      break;
    case Endpoint::kGaze: {
      out.answer = Answer::kGif;
      if (!site.evt_field || !scratch.event.present[*site.evt_field]) break;
      const std::string& evt = scratch.event.values[*site.evt_field];
      const auto& s = config_.server;
      std::string_view next;
      if (evt == "open") {
        next = "see";
        out.delay = s.gaze_open_delay;
      } else if (evt == "see") {
        next = "read";
        out.delay = s.gaze_see_delay;
      } else if (evt == "read") {
        next = "done";
        out.delay = s.gaze_read_delay;
      }
      if (next.empty()) break;
      // The redirect moves evt on through the parameter the field reads: with `param: e` an
      // added "evt=see" would never be read, and the chain would redirect to "open" forever
      // (tests/fuzz/fuzz_event checks it). An evt that no parameter gives cannot be moved on:
      // no redirect.
      const config::Field& evt_spec = site.builder.site().schema[*site.evt_field];
      if (evt_spec.from != config::FieldSource::kParam) break;
      const std::string_view path = SplitTarget(request.target).path;
      out.answer = Answer::kRedirect;
      out.status = 302;
      out.location.assign(path);
      out.location += '?';
      out.location += event::ReplaceQueryParam(query, evt_spec.source_name, next);
      break;
    }
  }
}

}  // namespace oceanus::collect
