// Collector counters; see collector_metrics.h.
#include "collect/collector_metrics.h"

#include <string>

namespace oceanus::collect {
namespace {

constexpr std::string_view kEndpointNames[kEndpointLabels] = {
    "swallow", "pirate", "gaze", "pierce", "segment", "health", "static", "other", "invalid"};
constexpr std::string_view kRejectNames[kRejectReasons] = {
    "invalid", "malformed", "media_type", "unavailable", "too_large", "headers_too_large"};

constexpr std::string_view kMessageRejectNames[kMessageRejects] = {
    "not_object",       "too_large",           "missing_id",   "missing_event",
    "missing_group_id", "missing_previous_id", "unknown_type", "invalid_fields"};

}  // namespace

std::string_view RejectReasonName(RejectReason reason) {
  return kRejectNames[static_cast<std::size_t>(reason)];
}

std::string_view MessageRejectName(MessageReject reason) {
  return kMessageRejectNames[static_cast<std::size_t>(reason)];
}

CollectorCounters::CollectorCounters(const std::vector<Site>& sites)
    : site_count_(sites.size()),
      sites_(sites.size()),
      requests_((sites.size() + 1) * kEndpointLabels * kStatuses.size()) {
  for (std::size_t i = 0; i < site_count_; ++i)
    sites_[i].field_failures = std::vector<std::atomic<std::uint64_t>>(
        sites[i].builder.field_count() * event::kFailureKinds);
}

std::size_t CollectorCounters::StatusIndex(int status) {
  for (std::size_t i = 0; i + 1 < kStatuses.size(); ++i)
    if (kStatuses[i] == status) return i;
  return kStatuses.size() - 1;
}

void CollectorCounters::Request(int site, EndpointLabel endpoint, int status) {
  const std::size_t s = site < 0 ? site_count_ : static_cast<std::size_t>(site);
  Bump(requests_[(s * kEndpointLabels + static_cast<std::size_t>(endpoint)) * kStatuses.size() +
                 StatusIndex(status)]);
}

void CollectorCounters::FieldFailed(std::size_t site, const event::FieldError& error) {
  auto& failures = sites_[site].field_failures;
  const std::size_t i = error.index * event::kFailureKinds + static_cast<std::size_t>(error.kind);
  if (i < failures.size()) Bump(failures[i]);
}

void CollectorCounters::Write(const std::vector<Site>& site_list,
                              const std::vector<const CollectorCounters*>& threads,
                              MetricsWriter& out) {
  auto sum = [&](auto pick) {
    std::uint64_t total = 0;
    for (const CollectorCounters* t : threads) total += pick(*t).load(std::memory_order_relaxed);
    return static_cast<double>(total);
  };
  const std::size_t sites = site_list.size();

  out.Family("oceanus_requests_total", "counter",
             "HTTP requests answered by the collector, by site, endpoint and status.");
  for (std::size_t s = 0; s <= sites; ++s) {
    const std::string_view site = s < sites ? std::string_view(site_list[s].name) : "";
    for (std::size_t e = 0; e < kEndpointLabels; ++e) {
      for (std::size_t k = 0; k < kStatuses.size(); ++k) {
        const std::size_t i = (s * kEndpointLabels + e) * kStatuses.size() + k;
        const double n =
            sum([&](const CollectorCounters& t) -> const auto& { return t.requests_[i]; });
        if (n == 0) continue;  // the product of labels is large; absent means zero
        const std::string status = kStatuses[k] == 0 ? "other" : std::to_string(kStatuses[k]);
        out.Sample("oceanus_requests_total",
                   {{"site", site}, {"endpoint", kEndpointNames[e]}, {"status", status}}, n);
      }
    }
  }

  out.Family("oceanus_events_received_total", "counter",
             "Event requests that reached a site: rejected + queued + withheld.");
  out.Family("oceanus_events_queued_total", "counter",
             "Events the queue accepted (answered with success).");
  out.Family("oceanus_events_rejected_total", "counter",
             "Event requests answered with an error, by reason (one per request).");
  out.Family("oceanus_events_withheld_total", "counter",
             "Valid events the site's privacy block kept out of the queue, by reason (bot, "
             "no_consent).");
  out.Family("oceanus_validation_failures_total", "counter",
             "Fields that failed validation, by site, field and reason.");
  out.Family("oceanus_messages_rejected_total", "counter",
             "Messages of a JSON request (segment) refused one by one, by site and reason.");
  for (std::size_t s = 0; s < sites; ++s) {
    const Site& site = site_list[s];
    out.Sample(
        "oceanus_events_received_total", {{"site", site.name}},
        sum([&](const CollectorCounters& t) -> const auto& { return t.sites_[s].received; }));
    out.Sample("oceanus_events_queued_total", {{"site", site.name}},
               sum([&](const CollectorCounters& t) -> const auto& { return t.sites_[s].queued; }));
    for (std::size_t r = 0; r < kRejectReasons; ++r) {
      out.Sample(
          "oceanus_events_rejected_total", {{"site", site.name}, {"reason", kRejectNames[r]}},
          sum([&](const CollectorCounters& t) -> const auto& { return t.sites_[s].rejected[r]; }));
    }
    for (std::size_t r = 1; r < event::kWithheldReasons; ++r) {
      out.Sample(
          "oceanus_events_withheld_total",
          {{"site", site.name}, {"reason", event::WithheldName(static_cast<event::Withheld>(r))}},
          sum([&](const CollectorCounters& t) -> const auto& { return t.sites_[s].withheld[r]; }));
    }
    for (std::size_t r = 0; r < kMessageRejects; ++r) {
      const double n = sum([&](const CollectorCounters& t) -> const auto& {
        return t.sites_[s].messages_rejected[r];
      });
      if (n == 0) continue;
      out.Sample("oceanus_messages_rejected_total",
                 {{"site", site.name}, {"reason", kMessageRejectNames[r]}}, n);
    }
    for (std::size_t f = 0; f < site.builder.field_count(); ++f) {
      for (std::size_t k = 0; k < event::kFailureKinds; ++k) {
        const double n = sum([&](const CollectorCounters& t) -> const auto& {
          return t.sites_[s].field_failures[f * event::kFailureKinds + k];
        });
        if (n == 0) continue;
        out.Sample("oceanus_validation_failures_total",
                   {{"site", site.name},
                    {"field", site.builder.field(f).name},
                    {"reason", event::FailureKindName(static_cast<event::FailureKind>(k))}},
                   n);
      }
    }
  }
}

}  // namespace oceanus::collect
