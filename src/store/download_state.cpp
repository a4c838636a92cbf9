#include "store/download_state.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/json_text.h"
#include "store/file_util.h"

namespace hearth::store {
namespace {

namespace json = boost::json;

// An optional text member: a missing one reads as "" (any other value than text is an error).
std::string text_or_empty(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value == nullptr ? std::string() : json::value_to<std::string>(*value);
}

}  // namespace

std::optional<DownloadState> load_download_state(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::nullopt;
  try {
    std::string error;
    const auto parsed = parse_json(read_small_file(path), &error);
    if (!parsed) throw Error(ErrorKind::corrupt_file, error);
    const json::object& object = parsed->as_object();
    if (object.at("schema").to_number<int>() != kDownloadStateSchema) {
      spdlog::info("{}: download state of another version; starting the download again",
                   path.string());
      return std::nullopt;
    }
    DownloadState state;
    state.url = json::value_to<std::string>(object.at("url"));
    state.size = object.at("size").to_number<int64_t>();
    state.etag = text_or_empty(object, "etag");
    state.last_modified = text_or_empty(object, "last_modified");
    state.ranged = object.at("ranged").as_bool();
    for (const json::value& part : object.at("parts").as_array()) {
      PartState p{part.at("start").to_number<uint64_t>(), part.at("end").to_number<uint64_t>(),
                  part.at("done").to_number<uint64_t>()};
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
  json::array parts;
  for (const auto& p : state.parts)
    parts.push_back(json::object{{"start", p.start}, {"end", p.end}, {"done", p.done}});
  const json::object object{{"schema", kDownloadStateSchema},
                            {"url", state.url},
                            {"size", state.size},
                            {"etag", state.etag},
                            {"last_modified", state.last_modified},
                            {"ranged", state.ranged},
                            {"parts", parts}};
  write_file_atomically(path, format_json(object, 1) + "\n");
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
