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

 private:
  SitePaths paths_;
};

class PirateFactory : public SourceFactory {
 public:
  std::vector<std::string> Prefixes() const override { return {"/pirate"}; }
  std::string Describe(const config::Site& site, bool) const override {
    return "/pirate/" + site.name;
  }
  Result<std::unique_ptr<Source>> Create(const SourceContext& context) const override {
    return std::unique_ptr<Source>(std::make_unique<PirateSource>(context));
  }
};

}  // namespace

OCEANUS_REGISTER(SourceFactory, PirateFactory, "pirate");

}  // namespace oceanus::collect
