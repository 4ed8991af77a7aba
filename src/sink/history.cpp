// Merging history rows found in several tables; see history.h.
#include "sink/history.h"

#include <algorithm>

namespace oceanus::sink {

std::vector<EventRow> NewestFirst(std::vector<DatedRow> found, std::size_t limit) {
  std::stable_sort(found.begin(), found.end(),
                   [](const DatedRow& a, const DatedRow& b) { return a.dt > b.dt; });
  if (found.size() > limit) found.resize(limit);
  std::vector<EventRow> rows;
  rows.reserve(found.size());
  for (auto& f : found) rows.push_back(std::move(f.row));
  return rows;
}

}  // namespace oceanus::sink
