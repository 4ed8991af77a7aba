// The collector's counters, one set per I/O thread (written only by that thread, summed when
// scraped), so that counting takes no lock and shares no cache line between cores.
//
// Per site they account for every event request:
//   received = rejected (by reason) + queued + withheld (by reason)
// where `received` counts requests that reached a site's event handling, `queued` those the
// queue accepted (answered 2xx/302), `withheld` valid events the site's privacy block kept
// out of the queue (a bot, no consent; answered as if stored), and rejected carries one reason per
// request: invalid (field validation, 400), malformed (broken encoding or HTTP, 400), media_type
// (415), unavailable (the queue refused, 503), too_large (a body over its path's limit, 413),
// headers_too_large (431) — the last two, and malformed HTTP, counted under the site the path
// names. Field failures are counted separately, by field and reason,
// as a request can fail several fields.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "collect/site.h"
#include "event/event_builder.h"
#include "util/metrics.h"

namespace oceanus::collect {

// The endpoint label of oceanus_requests_total.
enum class EndpointLabel : std::uint8_t {
  kSwallow,
  kPirate,
  kGaze,
  kPierce,
  kSegment,  // /v1/… (the Segment-compatible API)
  kHealth,   // /hc, /lb
  kStatic,   // /robots.txt, /favicon.ico, /static/...
  kOther,    // unknown paths, CORS preflight
  kInvalid,  // the request could not be parsed as HTTP (or was over a limit)
};
inline constexpr std::size_t kEndpointLabels = 9;

enum class RejectReason : std::uint8_t {
  kInvalid,
  kMalformed,
  kMediaType,
  kUnavailable,
  kTooLarge,
  kHeadersTooLarge,
};
inline constexpr std::size_t kRejectReasons = 6;
// "invalid", "malformed", … (the metric's label and the rejected-events store's reason).
std::string_view RejectReasonName(RejectReason reason);

// Why one message of a JSON request (a segment call or batch) was refused, when the others
// of the request may still be stored: oceanus_messages_rejected_total{site,reason}. Each such
// message also counts once as received and once as rejected (kInvalid).
enum class MessageReject : std::uint8_t {
  kNotObject,          // a batch item that is not a JSON object
  kTooLarge,           // over the site's max_message_bytes
  kMissingId,          // neither userId nor anonymousId
  kMissingEvent,       // a track without event
  kMissingGroupId,     // a group without groupId
  kMissingPreviousId,  // an alias without previousId
  kUnknownType,        // a type that is none of the API's
  kInvalidFields,      // a schema field failed validation (oceanus_validation_failures_total)
};
inline constexpr std::size_t kMessageRejects = 8;
// "not_object", "too_large", "missing_id", … (the metric's label and the answer's reason).
std::string_view MessageRejectName(MessageReject reason);

class CollectorCounters {
 public:
  // Counters for `sites` (the collector's, Collector::sites()).
  explicit CollectorCounters(const std::vector<Site>& sites);

  // site: index in `sites`, or -1 when the request named no known site.
  void Request(int site, EndpointLabel endpoint, int status);
  void Received(std::size_t site, std::uint64_t n = 1) { Bump(sites_[site].received, n); }
  void Queued(std::size_t site, std::uint64_t n = 1) { Bump(sites_[site].queued, n); }
  void Rejected(std::size_t site, RejectReason reason, std::uint64_t n = 1) {
    Bump(sites_[site].rejected[static_cast<std::size_t>(reason)], n);
  }
  void Withheld(std::size_t site, event::Withheld reason) {
    Bump(sites_[site].withheld[static_cast<std::size_t>(reason)]);
  }
  void MessageRejected(std::size_t site, MessageReject reason) {
    Bump(sites_[site].messages_rejected[static_cast<std::size_t>(reason)]);
  }
  void FieldFailed(std::size_t site, const event::FieldError& error);
  std::uint64_t QueuedCount(std::size_t site) const {
    return sites_[site].queued.load(std::memory_order_relaxed);
  }

  // Writes the sum of `threads` (one CollectorCounters per I/O thread, each made for `sites`).
  static void Write(const std::vector<Site>& sites,
                    const std::vector<const CollectorCounters*>& threads, MetricsWriter& out);

 private:
  struct SiteCounters {
    std::atomic<std::uint64_t> received{0};
    std::atomic<std::uint64_t> queued{0};
    std::array<std::atomic<std::uint64_t>, kRejectReasons> rejected{};
    std::array<std::atomic<std::uint64_t>, kMessageRejects> messages_rejected{};
    std::array<std::atomic<std::uint64_t>, event::kWithheldReasons> withheld{};
    std::vector<std::atomic<std::uint64_t>> field_failures;  // field × kFailureKinds
  };
  static constexpr std::array<int, 15> kStatuses = {200, 204, 302, 304, 400, 401, 404, 405,
                                                    408, 413, 415, 431, 500, 503, 0};  // 0: other
  static std::size_t StatusIndex(int status);

  std::size_t site_count_;
  std::vector<SiteCounters> sites_;
  // (site_count + 1) × kEndpointLabels × kStatuses; the extra site is "no site".
  std::vector<std::atomic<std::uint64_t>> requests_;
};

}  // namespace oceanus::collect
