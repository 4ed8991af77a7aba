// The event handling every source shares; see event_intake.h.
#include "collect/event_intake.h"

#include "collect/client_ip.h"
#include "util/ascii.h"

namespace oceanus::collect {
namespace {

// "application/x-www-form-urlencoded; charset=UTF-8" → "application/x-www-form-urlencoded"
std::string_view MediaType(std::string_view content_type) {
  auto semi = content_type.find(';');
  std::string_view t = content_type.substr(0, semi);
  while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
  return t;
}

// A HEAD stores nothing, so it is counted only when refused: as received and rejected for the
// reason of its answer, like the GET it stands for, so that the metrics agree with the
// rejected-events store (which keeps every refusal). Returns false, for Take to return.
bool CountRefusedHead(const Request& request, std::size_t site, const Outcome& out) {
  if (request.method == Method::kHead && request.counters && out.rejected >= 0) {
    request.counters->Received(site);
    request.counters->Rejected(site, static_cast<RejectReason>(out.rejected));
  }
  return false;
}

}  // namespace

bool EventIntake::ReadParams(const Site& site, const Call& call, Body body,
                             CollectorCounters* counters, Outcome& out) {
  const Request& request = call.request;
  Scratch& scratch = call.scratch;
  scratch.params.clear();
  if (request.method == Method::kPost) {
    const std::string_view type = MediaType(request.content_type);
    const bool form = AsciiIEquals(type, "application/x-www-form-urlencoded");
    const bool text = AsciiIEquals(type, "text/plain") || type.empty();
    if (!form && !(text && body == Body::kFormOrText)) {
      if (counters) counters->Rejected(site.id, RejectReason::kMediaType);
      out.Reject(RejectReason::kMediaType);
      AnswerText(out, 415,
                 body == Body::kFormOrText
                     ? "body must be application/x-www-form-urlencoded or text/plain\n"
                     : "body must be application/x-www-form-urlencoded\n");
      return false;
    }
    // Body first: when a parameter is in both, the body's value wins (first value wins).
    if (!scratch.params.AddEncoded(request.body, &scratch.bad_param)) {
      if (counters) counters->Rejected(site.id, RejectReason::kMalformed);
      out.Reject(RejectReason::kMalformed);
      AnswerText(out, 400, "malformed percent-encoding in parameter '" + scratch.bad_param + "'\n");
      return false;
    }
  }
  if (!scratch.params.AddEncoded(call.query, &scratch.bad_param)) {
    if (counters) counters->Rejected(site.id, RejectReason::kMalformed);
    out.Reject(RejectReason::kMalformed);
    AnswerText(out, 400, "malformed percent-encoding in parameter '" + scratch.bad_param + "'\n");
    return false;
  }
  return true;
}

bool EventIntake::Take(const Site& site, const Call& call, Body body, Outcome& out) const {
  const Request& request = call.request;
  Scratch& scratch = call.scratch;
  // Every request counted here ends as rejected (below) or queued (when the queue has it).
  // HEAD stores nothing, so it is counted only when refused (CountRefusedHead).
  const bool store = request.method != Method::kHead;
  CollectorCounters* counters = store ? request.counters : nullptr;
  if (counters) counters->Received(site.id);
  if (!ReadParams(site, call, body, counters, out)) return CountRefusedHead(request, site.id, out);

  const IpAddress client = ResolveClientIp(request.peer, request.x_forwarded_for, trusted_proxies_);
  char ip_text[64];
  const std::size_t ip_length = client.Format(ip_text);

  event::RequestFacts facts;
  facts.params = &scratch.params;
  facts.headers = request.headers;
  facts.user_agent = request.user_agent;
  facts.client_ip = std::string_view(ip_text, ip_length);
  facts.now = request.now;

  const bool valid = site.builder.Build(facts, call.thread, scratch.event);
  const auto debug = scratch.params.Get("debug");
  const bool show_debug = debug && *debug == "1" && internal_networks_.Contains(client);
  if (!valid) {
    if (counters) {
      counters->Rejected(site.id, RejectReason::kInvalid);
      for (const auto& e : scratch.event.errors) counters->FieldFailed(site.id, e);
    }
    std::string answer;
    for (const auto& e : scratch.event.errors) answer += e.field + ": " + e.reason + "\n";
    if (request.recent)
      request.recent->rejections.Add(request.now, site.id, answer, request.target);
    if (show_debug) answer += "\n" + site.builder.Describe(scratch.event);
    AnswerText(out, 400, std::move(answer));
    out.Reject(RejectReason::kInvalid);
    return CountRefusedHead(request, site.id, out);
  }

  if (scratch.event.withheld != event::Withheld::kNone) {
    // Answered as a stored event would be (a page must not behave differently for a bot or a
    // visitor who declined), counted, never queued.
    if (counters) counters->Withheld(site.id, scratch.event.withheld);
    out.append = false;
    out.site = site.id;
    if (show_debug) {
      AnswerText(out, 200,
                 "withheld: " + std::string(event::WithheldName(scratch.event.withheld)) + "\n");
      return false;
    }
    return true;
  }
  out.append = store;
  out.site = site.id;
  if (store && site.eid_field) out.event_id = scratch.event.values[*site.eid_field];
  if (show_debug) {
    AnswerText(out, 200, "stored:\n" + site.builder.Describe(scratch.event));
    return false;
  }
  return true;
}

IpAddress EventIntake::ClientIp(const Request& request) const {
  return ResolveClientIp(request.peer, request.x_forwarded_for, trusted_proxies_);
}

bool AllowMethod(const Request& request, Methods allowed, Outcome& out) {
  const bool get = request.method == Method::kGet || request.method == Method::kHead;
  const bool post = request.method == Method::kPost;
  switch (allowed) {
    case Methods::kGet:
      if (get) return true;
      out.allow = "GET, HEAD, OPTIONS";
      break;
    case Methods::kPost:
      if (post) return true;
      out.allow = "POST, OPTIONS";
      break;
    case Methods::kGetOrPost:
      if (get || post) return true;
      out.allow = "GET, HEAD, POST, OPTIONS";
      break;
  }
  AnswerText(out, 405, "method not allowed\n");
  return false;
}

SitePaths::SitePaths(std::string_view name, const SourceContext& context)
    : unknown_("unknown site for " + std::string(name) + "\n"),
      sites_(context.sites),
      default_site_(context.default_site) {}

const Site* SitePaths::Find(std::string_view rest, Outcome& out, std::size_t* index) const {
  if (!rest.empty()) rest.remove_prefix(1);
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  const Site* site = nullptr;
  if (rest.empty()) {
    site = default_site_;
  } else if (rest.find('/') == std::string_view::npos) {
    for (std::size_t i = 0; i < sites_.size(); ++i) {
      if (sites_[i]->name == rest) {
        site = sites_[i];
        if (index != nullptr) *index = i;
        break;
      }
    }
  }
  if (site == nullptr) {
    AnswerText(out, 404, rest.empty() ? "no site given and no default site\n" : unknown_);
    return nullptr;
  }
  out.metrics_site = static_cast<int>(site->id);
  return site;
}

void SitePaths::Attribute(std::string_view rest, EndpointLabel endpoint, Outcome& out) const {
  out.endpoint = endpoint;
  Outcome unknown;  // Find's 404, not the answer
  if (const Site* site = Find(rest, unknown)) out.metrics_site = static_cast<int>(site->id);
}

}  // namespace oceanus::collect
