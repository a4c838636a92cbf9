#include <algorithm>

#include "engine/sampler/sampler.h"

namespace hearth::sampler {

StopStrings::StopStrings(std::vector<std::string> stops) : stops_(std::move(stops)) {
  std::erase_if(stops_, [](const std::string& s) { return s.empty(); });
}

StopStrings::Result StopStrings::push(std::string_view piece) {
  if (stopped_) return {"", true};
  pending_.append(piece);

  // Everything before pending_ was emitted and held no stop string, and pending_ begins where a
  // stop string could begin; so the earliest match in pending_ is the earliest in the stream.
  size_t first = std::string::npos;
  for (const auto& stop : stops_) {
    const size_t at = pending_.find(stop);
    if (at < first) {
      first = at;
      matched_ = stop;
    }
  }
  if (first != std::string::npos) {
    Result result{pending_.substr(0, first), true};
    pending_.clear();
    stopped_ = true;
    return result;
  }

  // Hold back the longest tail of pending_ that is a proper prefix of some stop string.
  size_t hold = 0;
  for (const auto& stop : stops_) {
    const size_t longest = std::min(stop.size() - 1, pending_.size());
    for (size_t n = longest; n > hold; --n) {
      if (std::string_view(pending_).substr(pending_.size() - n) ==
          std::string_view(stop).substr(0, n)) {
        hold = n;
        break;
      }
    }
  }
  Result result{pending_.substr(0, pending_.size() - hold), false};
  pending_.erase(0, pending_.size() - hold);
  return result;
}

std::string StopStrings::finish() {
  std::string rest = stopped_ ? std::string() : std::move(pending_);
  pending_.clear();
  stopped_ = false;
  matched_.clear();
  return rest;
}

}  // namespace hearth::sampler
