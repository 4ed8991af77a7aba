// pierce: server-side events. GET /pierce/{site}; answers "ok".
#include "collect/event_intake.h"
#include "collect/source.h"

namespace oceanus::collect {
namespace {

class PierceSource : public Source {
 public:
  explicit PierceSource(const SourceContext& context) : paths_("pierce", context) {}

  void Handle(const Call& call, Outcome& out) const override {
    out.endpoint = EndpointLabel::kPierce;
    const Site* site = paths_.Find(call.rest, out);
    if (site == nullptr || !AllowMethod(call.request, Methods::kGet, out)) return;
    if (!call.intake.Take(*site, call, EventIntake::Body::kForm, out)) return;
    AnswerText(out, 200, "ok\n");
  }

  void Attribute(std::string_view rest, Outcome& out) const override {
    paths_.Attribute(rest, EndpointLabel::kPierce, out);
  }

 private:
  SitePaths paths_;
};

class PierceFactory final : public SitePathSourceFactory<PierceSource> {
 public:
  PierceFactory() : SitePathSourceFactory("pierce") {}
};

}  // namespace

OCEANUS_REGISTER(SourceFactory, PierceFactory, "pierce");

}  // namespace oceanus::collect
