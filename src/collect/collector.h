// The collector's request handling as a plain function of the request: routing of the
// original's paths, which site, which answer. No sockets here (the Beast session in http/
// does the I/O), so every path and answer is unit-tested directly.
//
// Handling one request ends in an Outcome: either an answer to send now, or an event record
// to append to the queue first (the answer is sent only once the queue has it), possibly
// followed by a delay (the /gaze chain).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "app/config.h"
#include "collect/collector_metrics.h"
#include "collect/recent.h"
#include "event/event_builder.h"
#include "event/params.h"
#include "queue/queue.h"
#include "util/net.h"

namespace oceanus::collect {

enum class Method { kGet, kHead, kPost, kOptions, kOther };

struct Request {
  Method method = Method::kGet;
  std::string_view target;  // "/swallow/site?a=1", or the absolute form "http://h/swallow/…"
  std::string_view content_type;
  std::string_view body;
  std::string_view user_agent;
  std::string_view x_forwarded_for;  // every field line, combined in order with ", "
  const event::HeaderSource* headers = nullptr;
  IpAddress peer;
  std::chrono::system_clock::time_point now;
  CollectorCounters* counters = nullptr;  // this I/O thread's; null: not counted (tests)
  RecentActivity* recent = nullptr;       // this I/O thread's live tail; null: none
};

// What kind of answer; the HTTP layer owns the exact bytes of each (http/responses.h).
enum class Answer {
  kGif,        // 200 1x1 GIF, no-cache headers
  kText,       // `status` with text/plain `body`
  kRedirect,   // 302 to `location`, no-cache headers
  kPreflight,  // 204 CORS preflight
  kNoContent,  // 204 (favicon)
  kScript,     // 200 application/javascript `content` (the tracker), cacheable, `etag`; 304
};

struct Outcome {
  Answer answer = Answer::kText;
  int status = 200;
  std::string body;          // kText
  std::string location;      // kRedirect
  std::string_view content;  // kScript: the body, owned by the Collector
  std::string_view etag;     // kScript
  bool omit_body = false;    // HEAD or 304: headers only (Content-Length still of the body)
  std::string_view allow;    // 405: the methods the path takes, for the Allow header
  bool append = false;       // append scratch.event.record to `site` before answering
  queue::SiteId site = 0;
  std::chrono::milliseconds delay{0};  // wait this long after the append, then answer
  bool close = false;                  // close the connection after answering
  // The stored event's id, sent back as X-Oceanus-Eid so that a caller can log or trace it.
  // Points into the connection's Scratch, which outlives the answer.
  std::string_view event_id;
  // For oceanus_requests_total: the site (index in config.sites, -1 none) and endpoint.
  int metrics_site = -1;
  EndpointLabel endpoint = EndpointLabel::kOther;

  void Reset() {
    answer = Answer::kText;
    status = 200;
    body.clear();
    location.clear();
    content = {};
    etag = {};
    omit_body = false;
    allow = {};
    append = false;
    site = 0;
    delay = std::chrono::milliseconds(0);
    close = false;
    event_id = {};
    metrics_site = -1;
    endpoint = EndpointLabel::kOther;
  }
};

// Per-connection buffers.
struct Scratch {
  event::ParamList params;
  event::EventScratch event;
  std::string bad_param;
};

// Immutable, shared by all I/O threads: the compiled sites and network lists.
class Collector {
 public:
  static Result<std::shared_ptr<const Collector>> Create(
      const app::Config& config, std::shared_ptr<const event::DeviceClassifier> classifier);

  void Handle(const Request& request, event::ThreadState& thread, Scratch& scratch,
              Outcome& out) const;

  std::shared_ptr<const event::DeviceClassifier> classifier() const { return classifier_; }
  const app::Config& config() const { return config_; }

 private:
  struct SiteEntry {
    queue::SiteId id;
    config::Endpoint endpoint;
    event::EventBuilder builder;
    std::optional<std::size_t> evt_field;  // for /gaze
    std::optional<std::size_t> eid_field;
  };
  const SiteEntry* Find(config::Endpoint endpoint, std::string_view name) const;
  // Handle for a target in origin form, before HEAD drops the body.
  void Dispatch(const Request& request, event::ThreadState& thread, Scratch& scratch,
                Outcome& out) const;
  void HandleEvent(const SiteEntry& site, const Request& request, std::string_view query,
                   event::ThreadState& thread, Scratch& scratch, Outcome& out) const;

  app::Config config_;
  std::shared_ptr<const event::DeviceClassifier> classifier_;
  std::vector<SiteEntry> sites_;
  const SiteEntry* default_swallow_ = nullptr;
  NetworkSet trusted_proxies_;
  NetworkSet internal_networks_;
  std::string tracker_script_;  // GET /static/js/oceanus.js, read once at start
  std::string tracker_etag_;
};

// web/oceanus.js as it was at build time (generated by cmake/embed_file.cmake): the tracker
// served unless server.tracker_script names another file.
std::string_view EmbeddedTrackerScript();

}  // namespace oceanus::collect
