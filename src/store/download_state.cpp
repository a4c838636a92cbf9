#include "store/download_state.h"

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <algorithm>

#include "core/error.h"
#include "store/file_util.h"

namespace hearth::store {

std::optional<DownloadState> load_download_state(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::nullopt;
  try {
    auto json = nlohmann::json::parse(read_small_file(path));
    if (json.at("schema").get<int>() != kDownloadStateSchema) {
      spdlog::info("{}: download state of another version; starting the download again",
                   path.string());
      return std::nullopt;
    }
    DownloadState state;
    state.url = json.at("url").get<std::string>();
    state.size = json.at("size").get<int64_t>();
    state.etag = json.value("etag", "");
    state.last_modified = json.value("last_modified", "");
    state.ranged = json.at("ranged").get<bool>();
    for (const auto& part : json.at("parts")) {
      PartState p{part.at("start").get<uint64_t>(), part.at("end").get<uint64_t>(),
                  part.at("done").get<uint64_t>()};
      if (p.end < p.start || p.done > p.end - p.start)
        throw Error(ErrorKind::corrupt_file, "part outside its range");
      if (state.size >= 0 && p.end > static_cast<uint64_t>(state.size))
        throw Error(ErrorKind::corrupt_file, "part past the end of the file");
      state.parts.push_back(p);
    }
    return state;
  } catch (const std::exception& e) {
    spdlog::warn("{}: unreadable download state ({}); starting the download again", path.string(),
                 e.what());
    return std::nullopt;
  }
}

void save_download_state(const std::filesystem::path& path, const DownloadState& state) {
  nlohmann::json parts = nlohmann::json::array();
  for (const auto& p : state.parts)
    parts.push_back({{"start", p.start}, {"end", p.end}, {"done", p.done}});
  nlohmann::json json = {{"schema", kDownloadStateSchema},
                         {"url", state.url},
                         {"size", state.size},
                         {"etag", state.etag},
                         {"last_modified", state.last_modified},
                         {"ranged", state.ranged},
                         {"parts", parts}};
  write_file_atomically(path, json.dump(1) + "\n");
}

std::vector<PartState> split_into_parts(uint64_t size, int max_parts, uint64_t min_part_size) {
  uint64_t min_size = std::max<uint64_t>(min_part_size, 1);
  uint64_t count = std::clamp<uint64_t>(size / min_size, 1, std::max(max_parts, 1));
  uint64_t each = size / count;
  std::vector<PartState> parts;
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t start = i * each;
    uint64_t end = i + 1 == count ? size : start + each;
    parts.push_back({start, end, 0});
  }
  return parts;
}

}  // namespace hearth::store
