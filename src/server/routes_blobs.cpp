// Ollama's blob routes, what `ollama create` sends files through before POST /api/create names
// them by digest:
//
//   POST /api/blobs/{digest}   the raw bytes; 201 Created with an empty body once the body's
//                              SHA-256 equals the digest; 400 naming both digests otherwise
//                              (nothing kept); 413 beyond HEARTH_MAX_BLOB
//   HEAD /api/blobs/{digest}   200 when the caller may use the blob, else 404
//
// The digest is "sha256:<64 hex>" ("sha256-<hex>" and a percent-encoded ':' are taken too). The
// upload streams into the store's blobs/ (store/blob_upload.h), never whole in memory, from a
// caller authenticated on the headers (Router::add_upload), and records who sent it. HEAD is no
// existence oracle: a blob answers 200 only to a user who sent its bytes or whose own models use
// it (library.h, can_use_blob), so another user's adapter stays unknown to everyone else.
// Blobs lie plain like pulled weights: they are content addressed and shared by the users who
// sent the same bytes, so they cannot be sealed under one user's key.
#include <memory>
#include <string>

#include "core/config.h"
#include "core/log.h"
#include "server/api.h"
#include "server/json_util.h"
#include "store/blob_upload.h"

namespace hearth::server {
namespace {

// The path's digest, normalised; a percent-encoded ':' ("sha256%3A...") is decoded first.
std::string path_digest(const Request& r) {
  std::string raw(r.param("digest"));
  if (raw.size() > 9 && (raw.compare(6, 3, "%3A") == 0 || raw.compare(6, 3, "%3a") == 0))
    raw = raw.substr(0, 6) + ":" + raw.substr(9);
  return store::normalize_digest(raw, "the path's digest");
}

class BlobSink final : public BodySink {
 public:
  BlobSink(ApiContext& api, const Request& r)
      : user_id_(r.caller.user_id), digest_(path_digest(r)), upload_(api.store, digest_) {}

  void write(std::string_view piece) override { upload_.write(piece); }

  Response finish() override {
    const std::uint64_t size = upload_.finish(user_id_);
    SPDLOG_INFO("user {} uploaded blob {} ({} bytes)", user_id_, digest_, size);
    Response r;
    r.status = 201;
    r.body.clear();
    return r;
  }

 private:
  std::int64_t user_id_;
  std::string digest_;
  store::BlobUpload upload_;
};

}  // namespace

void add_blob_routes(Router& router, ApiContext& api) {
  const auto mib = config::get_int("HEARTH_MAX_BLOB", 1, 1ll << 30);
  router.add_upload(
      "POST", "/api/blobs/{digest}",
      [&api](const Request& r) -> std::unique_ptr<BodySink> { return std::make_unique<BlobSink>(api, r); },
      static_cast<std::uint64_t>(mib) << 20,
      "the blob is larger than the limit of " + std::to_string(mib) + " MiB (HEARTH_MAX_BLOB)");
  router.add("HEAD", "/api/blobs/{digest}", [&api](const Request& r) {
    const std::string digest = path_digest(r);
    if (!api.library.can_use_blob(r.caller.user_id, digest))
      throw Error(ErrorKind::not_found, "blob " + digest + " not found");
    Response out;
    out.body.clear();
    return out;
  });
}

}  // namespace hearth::server
