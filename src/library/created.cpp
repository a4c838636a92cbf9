// Models made by POST /api/create (library.h): which blobs a user may build from, and installing
// the result under the caller's own name.
#include <boost/json.hpp>

#include "core/error.h"
#include "core/json_text.h"
#include "library/library.h"
#include "library/library_db.h"
#include "store/blob_upload.h"

namespace hearth::library {

bool Library::can_use_blob(std::int64_t user_id, std::string_view digest) {
  store::Store& mine = names(user_id);
  if (store::uploaded_by(mine, digest, user_id)) return true;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(mine.blob_path(digest), ec)) return false;
  for (const auto& m : mine.list())
    for (const auto& b : m.blobs)
      if (b.digest == digest) return true;
  return false;
}

void Library::install_created(std::int64_t user_id, store::Manifest manifest) {
  store::Store& mine = names(user_id);
  const std::string full = manifest.full_name();
  const std::optional<store::Manifest> replaced = mine.find(full);
  manifest.created_at.clear();  // stamped now by the write
  mine.write(manifest);
  if (replaced)
    for (const auto& b : replaced->blobs) mine.drop_blob_if_unused(b.digest);
  LibraryDb rows = user_rows(user_id);
  if (!rows.find(full)) rows.record_installed(full, manifest.total_size());
  forget_served_versions(user_id);
  boost::json::array adapters;
  for (const auto& b : manifest.blobs)
    if (b.media_type == "adapter") adapters.push_back(boost::json::string(b.digest));
  audit(user_id, "create", full,
        format_json(boost::json::object{{"base_model", manifest.base_model},
                                        {"adapters", std::move(adapters)}}));
}

}  // namespace hearth::library
