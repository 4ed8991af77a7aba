// The HTTP sources: each kind of event endpoint (swallow, pirate, gaze, pierce) is a Source
// in its own folder, src/collect/sources/<name>/, registered under the name a site gives as
// its `endpoint:`:
//
//   OCEANUS_REGISTER(collect::SourceFactory, SwallowFactory, "swallow");
//
// The sources live under collect/ because they are the collector's own parts: they answer
// through the collector's Request/Outcome, share its event intake (collect/event_intake.h)
// and its sites, and nothing else uses them.
//
// A source owns one or more path prefixes ("/swallow" owns "/swallow" and "/swallow/…"; a
// source may own any prefix, "/v1" say, not only "/<name>"). The collector finds the source
// by the request's path and hands it the request: one virtual call per request, no
// allocation. A source may read keys of its sites' mappings besides the common ones
// (SiteKeys, ParseSite): the config parser asks it through config::SiteSources, so that a
// mistake there is still reported at its file:line:col.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "collect/request.h"
#include "collect/site.h"
#include "config/config.h"
#include "config/registry.h"
#include "util/status.h"

namespace oceanus::collect {

class EventIntake;

// One request as a source is handed it.
struct Call {
  const Request& request;  // its target in origin form ("/swallow/site?a=1")
  std::string_view path;   // the target's path: "/swallow/site"
  std::string_view rest;   // the path after the prefix that matched: "", "/site", "/site/"
  std::string_view query;  // the target's query, without the '?'
  event::ThreadState& thread;
  Scratch& scratch;
  const EventIntake& intake;  // the event handling every source shares
};

// A source, built once at start for the sites it serves; shared by every I/O thread.
class Source {
 public:
  virtual ~Source() = default;
  // Answers a request whose path one of its prefixes owns: finds the site, checks the
  // method (405 with the Allow of the path), takes the event through call.intake and sets the
  // answer. Sets out.endpoint, and out.metrics_site once the site is known. `out` has been
  // Reset. Never fails otherwise: every mistake of the client is an answer.
  virtual void Handle(const Call& call, Outcome& out) const = 0;
  // Whether it answers OPTIONS on its paths itself (through Handle): a source whose callers
  // send headers the collector's generic preflight does not allow (Authorization). False:
  // the collector's 204 preflight.
  virtual bool AnswersPreflight() const { return false; }
  // The largest body its paths take, when it is not server.max_body_bytes (0: that one).
  virtual std::size_t MaxBodyBytes() const { return 0; }
  // The answer to a body over MaxBodyBytes, read no further: a 413 (the connection closes).
  virtual void AnswerTooLarge(Outcome& out) const {
    AnswerText(out, 413, "request body too large\n");
  }
  // For a request refused before it could be handled (a body or header over its limit,
  // broken HTTP): sets out.endpoint and, when `rest` (as in Call) names one of its sites,
  // out.metrics_site, so that the refusal counts under that site. Nothing by default.
  virtual void Attribute(std::string_view rest, Outcome& out) const {
    (void)rest;
    (void)out;
  }
};

// What a source is built from.
struct SourceContext {
  std::vector<const Site*> sites;      // the sites whose endpoint names this source
  const Site* default_site = nullptr;  // for a source that ServesDefaultSite: default_site
  const config::ServerConfig& server;
};

// Builds one kind of source; registered under its name (OCEANUS_REGISTER).
class SourceFactory {
 public:
  virtual ~SourceFactory() = default;
  // The path prefixes it owns, each without a trailing '/': "/swallow" takes "/swallow" and
  // every path under "/swallow/", never "/swallowx". Prefixes of different sources never
  // overlap.
  virtual std::vector<std::string> Prefixes() const = 0;
  // The keys of a site's mapping it reads besides endpoint, tables, schema and description.
  virtual std::vector<std::string> SiteKeys() const { return {}; }
  // The columns every site of this source has before its own `schema:` (see
  // config::SiteSources::DefaultSchema); none by default.
  virtual std::vector<config::Field> DefaultSchema() const { return {}; }
  // Parses those keys of `node` (the site's mapping; `site` has its schema parsed), failing
  // through `r` at the key's position. Null when it reads none.
  virtual std::shared_ptr<const config::ComponentSettings> ParseSite(
      const config::Reader& r, const YAML::Node& node, const config::Site& site) const {
    (void)r;
    (void)node;
    (void)site;
    return nullptr;
  }
  // Whether a request that names no site writes to default_site (only one source does).
  virtual bool ServesDefaultSite() const { return false; }
  // Where `site` is served, for `oceanus check`: "/swallow/page (and bare /swallow)".
  virtual std::string Describe(const config::Site& site, bool default_site) const = 0;
  // The source for `context.sites` (possibly none: it still answers its paths).
  virtual Result<std::unique_ptr<Source>> Create(const SourceContext& context) const = 0;
};

using SourceRegistry = config::Registry<SourceFactory>;

// The registered sources, as the config parser asks about them (app/ hands it to
// config::ParseShared).
const config::SiteSources& RegisteredSiteSources();

// "/swallow/page (and bare /swallow)": where the site's source serves it (oceanus check).
std::string DescribeEndpoint(const config::Config& config, const config::Site& site);

}  // namespace oceanus::collect
