#include "rollout_server/stop_strings.h"

#include <algorithm>

#include "common/tokenizer/utf8.h"

namespace flywheel::rollout {

StopStringScanner::StopStringScanner(const std::vector<std::string>* stops,
                                     bool strip_leading_space)
    : stops_(stops), strip_leading_space_(strip_leading_space) {
  for (const auto& s : *stops_) longest_ = std::max(longest_, s.size());
}

bool StopStringScanner::Append(std::string_view bytes) {
  if (at_start_ && !bytes.empty()) {
    at_start_ = false;
    if (strip_leading_space_ && bytes[0] == ' ') bytes.remove_prefix(1);
  }
  pending_.append(bytes);
  const size_t used = tokenizer::AppendUtf8Lossy(pending_, /*final=*/false, &text_);
  pending_.erase(0, used);
  // The searched text: the end of the stable text that a match ending in new bytes could start
  // in (a match inside the old text would have been found before), then the pending bytes as the
  // final decode would show them. The pending part may read differently once more bytes arrive,
  // so it is searched again each time.
  const size_t from = std::min(text_.size(), searched_ > longest_ ? searched_ - longest_ : 0);
  std::string window = text_.substr(from);
  tokenizer::AppendUtf8Lossy(pending_, /*final=*/true, &window);
  searched_ = text_.size();
  for (const auto& stop : *stops_) {
    if (window.find(stop) != std::string::npos) return true;
  }
  return false;
}

}  // namespace flywheel::rollout
