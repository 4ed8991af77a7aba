// Collector::Handle: the original's endpoints (SEED_NOTES.md) mapped onto sites and answers.
//
//   GET|POST /swallow[/{site}]  page beacons                     (collect/sources/swallow/)
//   POST     /pirate/{site}     form posts                       (collect/sources/pirate/)
//   GET      /gaze/{site}       mail opens, the 302 chain        (collect/sources/gaze/)
//   GET      /pierce/{site}     server-side events               (collect/sources/pierce/)
//   GET      /hc, /lb           health                                    → "ok"
//   GET|HEAD /static/js/oceanus.js  the tracker script (web/oceanus.js), held in memory;
//                               If-None-Match with its ETag → 304; other /static/ paths 404
//   POST     /v1/…              the Segment-compatible API       (collect/sources/segment/)
//   OPTIONS  anything           CORS preflight                            → 204 (a source may
//                               answer its own: segment allows Authorization)
// Every path that is not the collector's own goes to the source that owns its prefix (one
// lookup over a handful of prefixes, one virtual call); a path nobody owns is 404. An unknown
// site, or a site another endpoint serves, is 404; an invalid event is 400 with one
// "field: reason" line per failing field (and the parsed event for debug=1 from a client in
// an internal network: the client after the trusted-proxy walk, not the proxy).
//
// HEAD is answered wherever GET is, with GET's status and headers (Content-Length of GET's
// body included) and no body, on every path and status (RFC 9110 §9.3.2): a keep-alive client
// reads exactly the headers. HEAD is safe, so on an event endpoint the event is validated as
// for GET but neither stored nor counted as received.
//
// A target in absolute form ("http://host/swallow/site?a=1", RFC 9112 §3.2.2) is routed by
// its path and query, as the origin form would be.
#include "collect/collector.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "util/ascii.h"

namespace oceanus::collect {
namespace {

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

// If-None-Match: "*" or a list of entity tags, weak ones too ("W/" is ignored for GET).
bool EtagMatches(std::string_view if_none_match, std::string_view etag) {
  return if_none_match == "*" || if_none_match.find(etag) != std::string_view::npos;
}

}  // namespace

Status Collector::LoadTracker(const config::ServerConfig& server) {
  if (server.tracker_script.empty()) {
    tracker_script_ = EmbeddedTrackerScript();
  } else {
    const std::string& file = server.tracker_script;
    std::error_code ec;
    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    if (std::filesystem::is_regular_file(file, ec) && in) text << in.rdbuf();
    tracker_script_ = std::move(text).str();
    if (tracker_script_.empty())
      return Status::InvalidArgument("server.tracker_script: " + file +
                                     " is missing, unreadable or empty");
  }
  std::uint64_t hash = 14695981039346656037u;  // FNV-1a: the ETag only has to change with it
  for (const unsigned char b : tracker_script_) hash = (hash ^ b) * 1099511628211u;
  char etag[24];
  std::snprintf(etag, sizeof etag, "\"%016llx\"", static_cast<unsigned long long>(hash));
  tracker_etag_ = etag;
  return Status::Ok();
}

// Every registered source is mounted, with or without sites: /pirate/x still answers
// "unknown site for pirate" when no site is a pirate one.
Status Collector::MountSources(const config::Config& config) {
  for (const auto& [name, factory] : SourceRegistry::Get().all()) {
    SourceContext context{{}, nullptr, config.server};
    for (std::size_t i = 0; i < sites_.size(); ++i) {
      if (config.sites[i].endpoint != name) continue;
      context.sites.push_back(&sites_[i]);
      if (factory->ServesDefaultSite() && sites_[i].name == config.default_site)
        context.default_site = &sites_[i];
    }
    auto source = factory->Create(context);
    if (!source.ok()) return source.status();
    max_body_bytes_ = std::max(max_body_bytes_, source.value()->MaxBodyBytes());
    for (auto& prefix : factory->Prefixes()) mounts_.push_back({std::move(prefix), source->get()});
    sources_.push_back(std::move(source).value());
  }
  return Status::Ok();
}

Result<std::shared_ptr<const Collector>> Collector::Create(
    const config::Config& config, std::shared_ptr<const event::DeviceClassifier> classifier,
    std::shared_ptr<const event::SuppressionList> suppressed,
    std::shared_ptr<event::DailySalts> salts) {
  auto c = std::shared_ptr<Collector>(new Collector());
  c->classifier_ = std::move(classifier);
  auto trusted = NetworkSet::Parse(config.server.trusted_proxies);
  if (!trusted.ok())
    return Status::InvalidArgument("server.trusted_proxies: " + trusted.status().message());
  auto internal = NetworkSet::Parse(config.server.internal_networks);
  if (!internal.ok())
    return Status::InvalidArgument("server.internal_networks: " + internal.status().message());
  c->intake_ = EventIntake(std::move(trusted).value(), std::move(internal).value());
  if (Status s = c->LoadTracker(config.server); !s.ok()) return s;
  c->sites_.reserve(config.sites.size());
  // The visitor hashes' salt of the day, one for every site of this collector.
  if (!salts) salts = std::make_shared<event::DailySalts>();
  for (std::size_t i = 0; i < config.sites.size(); ++i) {
    const config::Site& site = config.sites[i];
    auto builder = event::EventBuilder::Compile(site, salts, suppressed);
    if (!builder.ok()) return builder.status();
    Site entry{i, site.name, std::move(builder).value(), std::nullopt, site.source};
    entry.eid_field = entry.builder.FieldIndex("eid");
    c->sites_.push_back(std::move(entry));
  }
  c->default_body_bytes_ = config.server.max_body_bytes;
  c->max_body_bytes_ = config.server.max_body_bytes;
  if (Status s = c->MountSources(config); !s.ok()) return s;
  return std::shared_ptr<const Collector>(std::move(c));
}

void Collector::Handle(const Request& request, event::ThreadState& thread, Scratch& scratch,
                       Outcome& out) const {
  Request routed = request;
  routed.target = OriginForm(request.target);
  Dispatch(routed, thread, scratch, out);
  if (request.method == Method::kHead) out.omit_body = true;
}

bool Collector::HandleOwn(const Request& request, std::string_view path, Outcome& out) const {
  if (path == "/hc" || path == "/lb") {
    out.endpoint = EndpointLabel::kHealth;
    if (!AllowMethod(request, Methods::kGet, out)) return true;
    AnswerText(out, 200, "ok\n");
    return true;
  }
  if (StartsWith(path, "/static/")) {
    out.endpoint = EndpointLabel::kStatic;
    if (path != "/static/js/oceanus.js") {
      AnswerText(out, 404, "not found\n");
      return true;
    }
    if (!AllowMethod(request, Methods::kGet, out)) return true;
    out.answer = Answer::kScript;
    out.content = tracker_script_;
    out.etag = tracker_etag_;
    if (request.headers && EtagMatches(request.headers->Get("If-None-Match"), tracker_etag_)) {
      out.status = 304;
      out.omit_body = true;
    }
    return true;
  }
  if (path == "/robots.txt") {
    out.endpoint = EndpointLabel::kStatic;
    AnswerText(out, 200, "User-agent: *\nDisallow: /\n");
    return true;
  }
  if (path == "/favicon.ico") {
    out.endpoint = EndpointLabel::kStatic;
    out.answer = Answer::kNoContent;
    out.status = 204;
    return true;
  }
  return false;
}

const Collector::Mount* Collector::FindMount(std::string_view path) const {
  for (const Mount& mount : mounts_) {
    if (!StartsWith(path, mount.prefix)) continue;
    const std::string_view rest = path.substr(mount.prefix.size());
    if (!rest.empty() && rest[0] != '/') continue;  // "/swallowx" is not /swallow's
    return &mount;
  }
  return nullptr;
}

std::size_t Collector::BodyLimit(std::string_view target) const {
  const Mount* mount = FindMount(SplitTarget(OriginForm(target)).path);
  if (mount == nullptr || mount->source->MaxBodyBytes() == 0) return default_body_bytes_;
  return mount->source->MaxBodyBytes();
}

void Collector::AnswerTooLarge(std::string_view target, Outcome& out) const {
  const Mount* mount = FindMount(SplitTarget(OriginForm(target)).path);
  if (mount == nullptr) {
    AnswerText(out, 413, "request body too large\n");
    return;
  }
  mount->source->AnswerTooLarge(out);
}

void Collector::Attribute(std::string_view target, Outcome& out) const {
  const std::string_view path = SplitTarget(OriginForm(target)).path;
  if (const Mount* mount = FindMount(path))
    mount->source->Attribute(path.substr(mount->prefix.size()), out);
}

void Collector::Dispatch(const Request& request, event::ThreadState& thread, Scratch& scratch,
                         Outcome& out) const {
  out.Reset();
  const Route route = SplitTarget(request.target);
  const Mount* mount = FindMount(route.path);
  if (request.method == Method::kOptions &&
      (mount == nullptr || !mount->source->AnswersPreflight())) {
    out.answer = Answer::kPreflight;
    out.status = 204;
    return;
  }
  if (HandleOwn(request, route.path, out)) return;
  if (mount != nullptr) {
    const std::string_view rest = route.path.substr(mount->prefix.size());
    const Call call{request, route.path, rest, route.query, thread, scratch, intake_};
    return mount->source->Handle(call, out);
  }
  AnswerText(out, 404, "not found\n");
}

}  // namespace oceanus::collect
