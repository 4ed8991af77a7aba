// The reactor loop (see reactor.h).
#include "react/reactor.h"

#include "util/log.h"

#include <algorithm>
#include <random>
#include <thread>

namespace oceanus::react {

namespace {
constexpr std::size_t kBatchEntries = 200;
constexpr std::size_t kBatchBytes = 1 << 20;
constexpr std::chrono::milliseconds kMaxBackoff{10'000};
}  // namespace

Reactor::Reactor(const config::Config& config, TimeZone tz, const RuleSet& rules,
                 GuardStore& guards, tasks::TaskQueue& tasks,
                 std::vector<std::unique_ptr<queue::QueueReader>> readers)
    : config_(config), tz_(std::move(tz)), rules_(rules), guards_(guards), tasks_(tasks) {
  for (auto& r : readers) {
    SiteState s;
    s.reader = std::move(r);
    sites_.push_back(std::move(s));
  }
}

Result<bool> Reactor::PassGuards(const CompiledRule& rule, EventContext& event) {
  const react::RuleGuard& g = rule.rule->guard;
  const std::string& name = rule.rule->name;
  if (rule.once_key) {
    auto taken = guards_.Once(name + ":once:" + rules_.OnceKey(rule, event), event.Field("eid"),
                              g.once_window);
    if (!taken.ok() || !*taken) return taken;
  }
  if (g.per_ip.max) {
    auto allowed =
        guards_.Allow(name + ":ip:" + event.Field(g.ip_field), g.per_ip.max, g.per_ip.window);
    if (!allowed.ok() || !*allowed) return allowed;
  }
  if (g.total.max) {
    auto allowed = guards_.Allow(name + ":total", g.total.max, g.total.window);
    if (!allowed.ok() || !*allowed) return allowed;
  }
  return true;
}

Status Reactor::HandleEntry(std::size_t site, const queue::Entry& entry) {
  const auto& rules = rules_.RulesFor(site);
  if (rules.empty()) return Status::Ok();
  auto event = EventContext::Parse(entry.payload, config_.sites[site].name, tz_);
  if (!event.ok()) {
    // The loader dead-letters the same record; rules have nothing to read in it.
    stats_.unreadable++;
    spdlog::warn("react: {} entry {}: {}; no rule can apply", config_.sites[site].name, entry.id,
                 event.status().message());
    return Status::Ok();
  }
  const auto now = tasks::Clock::now();
  for (const CompiledRule* rule : rules) {
    if (rule->steps.empty() || !rules_.Matches(*rule, *event)) continue;
    stats_.matched++;
    auto pass = PassGuards(*rule, *event);
    if (!pass.ok()) return pass.status();
    if (!*pass) {
      stats_.suppressed++;
      spdlog::debug("react: rule {} suppressed by its guard for eid {}", rule->rule->name,
                    event->Field("eid"));
      continue;
    }
    for (const auto& task : rules_.MakeTasks(*rule, *event, now)) {
      if (Status s = tasks_.Enqueue(task); !s.ok()) return s;
      stats_.tasks++;
    }
  }
  return Status::Ok();
}

bool Reactor::Handle(std::size_t site, SiteState& s) {
  for (; s.next < s.batch.size(); ++s.next) {
    stats_.events++;
    if (Status st = HandleEntry(site, s.batch[s.next]); !st.ok()) {
      stats_.events--;  // counted again when retried
      stats_.errors++;
      s.backoff = std::min(kMaxBackoff, std::max(std::chrono::milliseconds(100), s.backoff * 2));
      s.retry_at = std::chrono::steady_clock::now() + s.backoff;
      spdlog::error("react: {}: {} (retrying in {} ms)", config_.sites[site].name, st.message(),
                    s.backoff.count());
      return false;
    }
  }
  if (!s.batch.empty()) {
    if (Status st = s.reader->Ack(s.batch.back().id); !st.ok()) {
      // Entries stay pending; a restart re-reads them and the task queue ignores repeats.
      spdlog::error("react: {}: ack: {}", config_.sites[site].name, st.message());
    }
  }
  s.batch.clear();
  s.next = 0;
  s.backoff = std::chrono::milliseconds(0);
  return true;
}

void Reactor::Run(std::stop_token stop) {
  const auto wait = std::chrono::milliseconds(std::max<std::int64_t>(
      10, 200 / static_cast<std::int64_t>(std::max<std::size_t>(1, sites_.size()))));
  while (true) {
    const bool stopping = stop.stop_requested();
    bool idle = true;
    for (std::size_t i = 0; i < sites_.size(); ++i) {
      SiteState& s = sites_[i];
      if (!s.batch.empty()) {
        if (std::chrono::steady_clock::now() < s.retry_at) continue;
        if (!Handle(i, s)) continue;
      }
      if (stopping) continue;
      auto read = s.reader->Read(kBatchEntries, kBatchBytes, wait);
      if (!read.ok()) {
        spdlog::warn("react: {}: read: {}", config_.sites[i].name, read.status().message());
        continue;
      }
      if (read->empty()) continue;
      idle = false;
      s.batch = std::move(read).value();
      s.next = 0;
      Handle(i, s);
    }
    if (stopping) {
      // Batches that still fail are left unacknowledged: the next start reads them again.
      return;
    }
    if (idle && std::all_of(sites_.begin(), sites_.end(),
                            [](const SiteState& s) { return !s.batch.empty(); }))
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void Reactor::WriteMetrics(MetricsWriter& out) const {
  const std::pair<const char*, const std::atomic<std::uint64_t>*> counters[] = {
      {"oceanus_reactor_events_total", &stats_.events},
      {"oceanus_reactor_matches_total", &stats_.matched},
      {"oceanus_reactor_suppressed_total", &stats_.suppressed},
      {"oceanus_reactor_tasks_total", &stats_.tasks},
      {"oceanus_reactor_errors_total", &stats_.errors},
  };
  for (const auto& [name, value] : counters) {
    out.Family(name, "counter",
               "The rules: events read, rule matches, matches a guard stopped, "
               "tasks enqueued, failures retried.");
    out.Sample(name, {}, static_cast<double>(value->load()));
  }
}

}  // namespace oceanus::react
