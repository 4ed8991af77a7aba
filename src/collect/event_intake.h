// What every event source does once it knows the site: the parameters from the body and the
// query, the client address behind the trusted proxies, the site's EventBuilder, the
// counters, the live tail, and the debug=1 answer for a client in an internal network.
//
// A source calls Take and, when it returns true, sets its own answer (a GIF, "ok", a redirect):
// the rest of an event request is answered the same way by every source, so it lives here
// once. And the helpers of the sources that serve /<name>/<site>: which site, which methods.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "collect/request.h"
#include "collect/site.h"
#include "collect/source.h"
#include "util/net.h"

namespace oceanus::collect {

class EventIntake {
 public:
  EventIntake() = default;
  EventIntake(NetworkSet trusted_proxies, NetworkSet internal_networks)
      : trusted_proxies_(std::move(trusted_proxies)),
        internal_networks_(std::move(internal_networks)) {}

  // The bodies a POST may carry: form-urlencoded, and for beacons (navigator.sendBeacon)
  // text/plain (or no type) with the same encoding.
  enum class Body { kForm, kFormOrText };

  // Builds the event of `call` for `site` into call.scratch.event. True when it is valid: then
  // out.append (false for HEAD, which stores nothing), out.site and out.event_id are set and
  // the source sets the answer. False when `out` already holds the answer: 415 (media type),
  // 400 (malformed encoding, invalid fields) or, for debug=1 from an internal network, the
  // "stored:" text (with out.append set as for a valid event).
  bool Take(const Site& site, const Call& call, Body body, Outcome& out) const;

  // The client of `request`: the peer, or behind trusted proxies the nearest untrusted hop.
  IpAddress ClientIp(const Request& request) const;
  // Whether `client` may ask for debug=1 answers.
  bool Internal(const IpAddress& client) const { return internal_networks_.Contains(client); }

 private:
  // The body's and the query's parameters into call.scratch.params; false with a 415 or 400.
  static bool ReadParams(const Site& site, const Call& call, Body body, CollectorCounters* counters,
                         Outcome& out);

  NetworkSet trusted_proxies_;
  NetworkSet internal_networks_;
};

// The methods a path takes; GET includes HEAD.
enum class Methods { kGet, kPost, kGetOrPost };

// True when `request` uses one of `allowed`; else a 405 with the path's Allow in `out`.
bool AllowMethod(const Request& request, Methods allowed, Outcome& out);

// The sites of a source served at /<name>/<site>, and at bare /<name> for the default site.
class SitePaths {
 public:
  SitePaths(std::string_view name, const SourceContext& context);

  // The site `rest` (the path after "/<name>": "/site", "/site/", or "" and "/" for the
  // default site) names, with out.metrics_site set; null with the 404 answer in `out`.
  // `index`, when given, is set to the site's place in SourceContext::sites (for a source's
  // own per-site data; not set for the default site).
  const Site* Find(std::string_view rest, Outcome& out, std::size_t* index = nullptr) const;
  // Source::Attribute for such a source: `endpoint`, and the site `rest` names if any.
  void Attribute(std::string_view rest, EndpointLabel endpoint, Outcome& out) const;

 private:
  std::string unknown_;  // "unknown site for <name>\n"
  std::vector<const Site*> sites_;
  const Site* default_site_;
};

// The factory of a source served at /<name>/<site> (SitePaths): its one prefix, its check
// line, and the source built from the context by SourceImpl(const SourceContext&).
template <class SourceImpl>
class SitePathSourceFactory : public SourceFactory {
 public:
  explicit SitePathSourceFactory(std::string name) : name_(std::move(name)) {}
  std::vector<std::string> Prefixes() const override { return {"/" + name_}; }
  std::string Describe(const config::Site& site, bool) const override {
    return "/" + name_ + "/" + site.name;
  }
  Result<std::unique_ptr<Source>> Create(const SourceContext& context) const override {
    return std::unique_ptr<Source>(std::make_unique<SourceImpl>(context));
  }

 private:
  std::string name_;
};

}  // namespace oceanus::collect
