// What the collector reads of one HTTP request and what it decides to answer: the plain
// values that pass between the HTTP session (http/server.cpp), the collector and its sources.
// No sockets here, so that every answer is unit-tested directly.
//
// Handling one request ends in an Outcome: either an answer to send now, or an event record
// to append to the queue first (the answer is sent only once the queue has it), possibly
// followed by a delay (the /gaze chain).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "collect/collector_metrics.h"
#include "collect/recent.h"
#include "event/event_builder.h"
#include "event/params.h"
#include "queue/queue.h"
#include "queue/rejected.h"
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
  // This I/O thread's lane to the rejected-events store; null: none. The HTTP layer records
  // refused requests itself (from the Outcome); a source records what only it sees: the
  // messages of a batch it refused while storing the others.
  queue::RejectedRecorder::Lane* rejected = nullptr;
  std::size_t max_payload_bytes = 4096;  // rejected.max_payload_bytes
};

// What kind of answer; the HTTP layer owns the exact bytes of each (http/responses.h).
enum class Answer {
  kGif,        // 200 1x1 GIF, no-cache headers
  kText,       // `status` with text/plain `body`
  kRedirect,   // 302 to `location`, no-cache headers
  kPreflight,  // 204 CORS preflight
  kNoContent,  // 204 (favicon)
  kScript,     // 200 application/javascript `content` (the tracker), cacheable, `etag`; 304
  kJson,       // `status` with application/json `body` (the segment API)
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
  // Append to `site` before answering: scratch.event.record, or with `batch` every record of
  // scratch.batch (answered once the queue has them all; 503 if it refused any).
  bool append = false;
  bool batch = false;
  queue::SiteId site = 0;
  // kPreflight: the Access-Control-Allow-Headers a source allows; empty: Content-Type.
  std::string_view preflight_headers;
  std::chrono::milliseconds delay{0};  // wait this long after the append, then answer
  bool close = false;                  // close the connection after answering
  // The stored event's id, sent back as X-Oceanus-Eid so that a caller can log or trace it.
  // Points into the connection's Scratch, which outlives the answer.
  std::string_view event_id;
  // For oceanus_requests_total: the site (index in config.sites, -1 none) and endpoint.
  int metrics_site = -1;
  EndpointLabel endpoint = EndpointLabel::kOther;
  // The reason the request was counted as rejected under (RejectReason), or -1; and whether
  // the source recorded its refused messages itself (Request::rejected), so that the HTTP
  // layer does not record the request as a whole again.
  int rejected = -1;
  bool messages_recorded = false;

  void Reject(RejectReason reason) { rejected = static_cast<int>(reason); }

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
    batch = false;
    site = 0;
    preflight_headers = {};
    delay = std::chrono::milliseconds(0);
    close = false;
    event_id = {};
    metrics_site = -1;
    endpoint = EndpointLabel::kOther;
    rejected = -1;
    messages_recorded = false;
  }
};

// Records appended together (a segment batch): one arena, each record ending at ends[i].
struct RecordBatch {
  std::string arena;
  std::vector<std::size_t> ends;
  void clear() {
    arena.clear();
    ends.clear();
  }
  void Add(std::string_view record) {
    arena.append(record);
    ends.push_back(arena.size());
  }
  std::size_t size() const { return ends.size(); }
  std::string_view operator[](std::size_t i) const {
    const std::size_t begin = i == 0 ? 0 : ends[i - 1];
    return std::string_view(arena).substr(begin, ends[i] - begin);
  }
};

// Per-connection buffers.
struct Scratch {
  event::ParamList params;
  event::EventScratch event;
  std::string bad_param;
  std::string body;   // a decoded (inflated) request body
  RecordBatch batch;  // Outcome::batch
};

// A text/plain answer.
inline void AnswerText(Outcome& out, int status, std::string body) {
  out.answer = Answer::kText;
  out.status = status;
  out.body = std::move(body);
}

}  // namespace oceanus::collect
