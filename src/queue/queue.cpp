// The queue interface's one shared behaviour: appending a batch record by record, for the
// writers that have no faster way (queue.h).
#include "queue/queue.h"

namespace oceanus::queue {
namespace {

// Answers `done` once all `remaining` appends have answered: OK if all were, else the first
// failure.
class CountedAppend final : public AppendHandler {
 public:
  CountedAppend(std::shared_ptr<AppendHandler> done, std::size_t count)
      : done_(std::move(done)), remaining_(count) {}
  void Appended(Status status) override {
    if (!status.ok() && first_failure_.ok()) first_failure_ = std::move(status);
    if (--remaining_ == 0) done_->Appended(std::move(first_failure_));
  }

 private:
  std::shared_ptr<AppendHandler> done_;
  std::size_t remaining_;
  Status first_failure_;
};

}  // namespace

void QueueWriter::AppendAll(SiteId site, std::string_view arena, std::span<const std::size_t> ends,
                            std::shared_ptr<AppendHandler> done) {
  if (ends.empty()) return done->Appended(Status::Ok());
  auto counted = std::make_shared<CountedAppend>(std::move(done), ends.size());
  std::size_t begin = 0;
  for (std::size_t end : ends) {
    Append(site, arena.substr(begin, end - begin), counted);
    begin = end;
  }
}

}  // namespace oceanus::queue
