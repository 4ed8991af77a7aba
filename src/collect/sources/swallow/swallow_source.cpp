// swallow: page beacons. GET|POST /swallow/{site}, and bare /swallow for default_site. A POST
// carries the same parameters as a form-urlencoded or text/plain body (navigator.sendBeacon).
// Answers the 1x1 GIF.
#include "collect/event_intake.h"
#include "collect/source.h"

namespace oceanus::collect {
namespace {

class SwallowSource : public Source {
 public:
  explicit SwallowSource(const SourceContext& context) : paths_("swallow", context) {}

  void Handle(const Call& call, Outcome& out) const override {
    out.endpoint = EndpointLabel::kSwallow;
    const Site* site = paths_.Find(call.rest, out);
    if (site == nullptr || !AllowMethod(call.request, Methods::kGetOrPost, out)) return;
    if (!call.intake.Take(*site, call, EventIntake::Body::kFormOrText, out)) return;
    out.answer = Answer::kGif;
  }

  void Attribute(std::string_view rest, Outcome& out) const override {
    paths_.Attribute(rest, EndpointLabel::kSwallow, out);
  }

 private:
  SitePaths paths_;
};

class SwallowFactory final : public SitePathSourceFactory<SwallowSource> {
 public:
  SwallowFactory() : SitePathSourceFactory("swallow") {}
  bool ServesDefaultSite() const override { return true; }
  std::string Describe(const config::Site& site, bool default_site) const override {
    return SitePathSourceFactory::Describe(site, default_site) +
           (default_site ? " (and bare /swallow)" : "");
  }
};

}  // namespace

OCEANUS_REGISTER(SourceFactory, SwallowFactory, "swallow");

}  // namespace oceanus::collect
