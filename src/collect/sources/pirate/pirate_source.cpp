// pirate: form posts. POST /pirate/{site} with a form-urlencoded body; answers an empty
// text/plain 200.
#include "collect/event_intake.h"
#include "collect/source.h"

namespace oceanus::collect {
namespace {

class PirateSource : public Source {
 public:
  explicit PirateSource(const SourceContext& context) : paths_("pirate", context) {}

  void Handle(const Call& call, Outcome& out) const override {
    out.endpoint = EndpointLabel::kPirate;
    const Site* site = paths_.Find(call.rest, out);
    if (site == nullptr || !AllowMethod(call.request, Methods::kPost, out)) return;
    if (!call.intake.Take(*site, call, EventIntake::Body::kForm, out)) return;
    AnswerText(out, 200, "");
  }

  void Attribute(std::string_view rest, Outcome& out) const override {
    paths_.Attribute(rest, EndpointLabel::kPirate, out);
  }

 private:
  SitePaths paths_;
};

class PirateFactory final : public SitePathSourceFactory<PirateSource> {
 public:
  PirateFactory() : SitePathSourceFactory("pirate") {}
};

}  // namespace

OCEANUS_REGISTER(SourceFactory, PirateFactory, "pirate");

}  // namespace oceanus::collect
