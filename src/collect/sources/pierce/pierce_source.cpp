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

 private:
  SitePaths paths_;
};

class PierceFactory : public SourceFactory {
 public:
  std::vector<std::string> Prefixes() const override { return {"/pierce"}; }
  std::string Describe(const config::Site& site, bool) const override {
    return "/pierce/" + site.name;
  }
  Result<std::unique_ptr<Source>> Create(const SourceContext& context) const override {
    return std::unique_ptr<Source>(std::make_unique<PierceSource>(context));
  }
};

}  // namespace

OCEANUS_REGISTER(SourceFactory, PierceFactory, "pierce");

}  // namespace oceanus::collect
