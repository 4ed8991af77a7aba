// gaze: mail opens. GET /gaze/{site}; the `evt` field moves open → see → read → done: each of
// the first three is answered, after its delay (server.gaze_delays), with a 302 to the same
// URL and the next evt, and the chain ends with the GIF. The delay is a timer of the HTTP
// session, never a sleeping thread.
#include "collect/event_intake.h"
#include "collect/source.h"
#include "event/params.h"

namespace oceanus::collect {
namespace {

// What the redirect needs of one site: the parameter its `evt` field reads. A site without an
// evt field, or whose evt comes from elsewhere than a parameter, cannot move it on: no
// redirect, the GIF at once.
struct EvtParam {
  std::optional<std::size_t> field;  // index of `evt` in the schema
  bool from_param = false;           // whether it reads a parameter
  std::string param;                 // which one
};

class GazeSource : public Source {
 public:
  explicit GazeSource(const SourceContext& context)
      : paths_("gaze", context),
        open_delay_(context.server.gaze_open_delay),
        see_delay_(context.server.gaze_see_delay),
        read_delay_(context.server.gaze_read_delay) {
    for (const Site* site : context.sites) {
      EvtParam evt{site->builder.FieldIndex("evt"), false, {}};
      if (evt.field) {
        const config::Field& spec = site->builder.field(*evt.field);
        evt.from_param = spec.from == config::FieldSource::kParam;
        evt.param = spec.source_name;
      }
      evts_.push_back(std::move(evt));
    }
  }

  void Handle(const Call& call, Outcome& out) const override {
    out.endpoint = EndpointLabel::kGaze;
    std::size_t index = 0;
    const Site* site = paths_.Find(call.rest, out, &index);
    if (site == nullptr || !AllowMethod(call.request, Methods::kGet, out)) return;
    if (!call.intake.Take(*site, call, EventIntake::Body::kForm, out)) return;
    out.answer = Answer::kGif;
    Redirect(evts_[index], call, out);
  }

  void Attribute(std::string_view rest, Outcome& out) const override {
    paths_.Attribute(rest, EndpointLabel::kGaze, out);
  }

 private:
  // The 302 to the next step, after the current step's delay, when there is one.
  void Redirect(const EvtParam& evt, const Call& call, Outcome& out) const {
    const event::EventScratch& event = call.scratch.event;
    if (!evt.field || !event.present[*evt.field]) return;
    const std::string& current = event.values[*evt.field];
    std::string_view next;
    if (current == "open") {
      next = "see";
      out.delay = open_delay_;
    } else if (current == "see") {
      next = "read";
      out.delay = see_delay_;
    } else if (current == "read") {
      next = "done";
      out.delay = read_delay_;
    }
    if (next.empty()) return;
    // The redirect moves evt on through the parameter the field reads (`param: e` reads "e",
    // not "evt"), so that the next request carries the next step.
    if (!evt.from_param) return;
    out.answer = Answer::kRedirect;
    out.status = 302;
    out.location.assign(call.path);
    out.location += '?';
    out.location += event::ReplaceQueryParam(call.query, evt.param, next);
  }

  SitePaths paths_;
  std::vector<EvtParam> evts_;  // per SourceContext::sites
  std::chrono::milliseconds open_delay_;
  std::chrono::milliseconds see_delay_;
  std::chrono::milliseconds read_delay_;
};

class GazeFactory final : public SitePathSourceFactory<GazeSource> {
 public:
  GazeFactory() : SitePathSourceFactory("gaze") {}
};

}  // namespace

OCEANUS_REGISTER(SourceFactory, GazeFactory, "gaze");

}  // namespace oceanus::collect
