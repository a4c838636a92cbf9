// OpenAI's Files API, the first piece of its fine-tuning API on hearth's own trainer:
//
//   POST   /v1/files               multipart/form-data: purpose ("fine-tune") and file
//   GET    /v1/files               {"object": "list", "data": [file, ...]}, the caller's, newest first
//   GET    /v1/files/{id}          the file object
//   GET    /v1/files/{id}/content  the bytes
//   DELETE /v1/files/{id}          {"id", "object": "file", "deleted": true}
//
// A file object is {"id": "file-<n>", "object": "file", "bytes", "created_at" (unix seconds),
// "filename", "purpose", "status": "processed"}. Ids belong to their user: another user's file,
// a deleted one and a malformed id all answer the same 404.
//
// The upload streams to disk (Router::add_upload): the caller is authenticated on the headers,
// then the body goes piece by piece through the multipart reader into an UploadFile, within
// HEARTH_MAX_UPLOAD instead of the server's body limit. Once it is whole it is checked as chat
// fine-tuning JSONL (data::validate_jsonl), kept, and only then recorded (uploads.h).
#include <sstream>
#include <chrono>
#include <filesystem>
#include <iterator>
#include <memory>
#include <optional>
#include <string>

#include "crypto/sealed_file.h"
#include "core/config.h"
#include "core/log.h"
#include "data/data.h"
#include "db/training.h"
#include "server/api.h"
#include "server/json_util.h"
#include "server/multipart.h"
#include "server/uploads.h"

namespace hearth::server {
namespace {

constexpr std::string_view fine_tune = "fine-tune";
// Issues quoted in a refusal; the rest are counted.
constexpr std::size_t issues_shown = 5;
// A form field other than the file (purpose) is a short word.
constexpr std::size_t max_field_bytes = 1024;

json::object file_object(const db::UploadedFile& f) {
  return {{"id", file_public_id(f.id)},
          {"object", "file"},
          {"bytes", f.bytes},
          {"created_at", std::chrono::duration_cast<std::chrono::seconds>(f.created_at.time_since_epoch()).count()},
          {"filename", f.filename},
          {"purpose", f.purpose},
          {"status", "processed"},
          {"status_details", nullptr}};
}

// The caller's file named by the path's {id}; Error(not_found) alike for every reason.
db::UploadedFile find_file(ApiContext& api, const Request& r) {
  const std::string_view public_id = r.param("id");
  if (const auto id = parse_file_id(public_id))
    if (auto row = db::UploadedFiles(api.db).find(r.caller.user_id, *id)) return *row;
  throw Error(ErrorKind::not_found, "no file with id '" + std::string(public_id) + "'");
}

// "line 3: ...; line 7: ..." for the first issues, and how many more there are.
std::string issue_list(const std::vector<data::ValidationIssue>& issues) {
  std::string out;
  for (std::size_t i = 0; i < issues.size() && i < issues_shown; ++i)
    out += (i == 0 ? "" : "; ") + ("line " + std::to_string(issues[i].line) + ": " + issues[i].message);
  if (issues.size() > issues_shown)
    out += " (and " + std::to_string(issues.size() - issues_shown) + " more)";
  return out;
}

// POST /v1/files: one request's form, as it arrives.
class FileUpload final : public BodySink {
 public:
  FileUpload(ApiContext& api, const Request& r)
      : api_(api), user_id_(r.caller.user_id), form_(multipart_boundary(r.content_type), events()) {}

  void write(std::string_view piece) override { form_.feed(piece); }

  Response finish() override {
    form_.finish();
    if (!file_)
      throw Error(ErrorKind::invalid_input, "the form has no 'file' field: send the file as a multipart part named file");
    if (!purpose_)
      throw Error(ErrorKind::invalid_input, "the form has no 'purpose' field; the accepted value is \"fine-tune\"");
    if (*purpose_ != fine_tune)
      throw Error(ErrorKind::invalid_input,
                  "purpose '" + *purpose_ + "' is not supported; the accepted value is \"fine-tune\"");
    const std::string sha256 = file_->sync();
    const data::ValidationReport report = data::validate_jsonl(file_->partial_path());
    if (!report.issues.empty())
      throw Error(ErrorKind::invalid_input, "'" + filename_ + "' is not valid chat fine-tuning data (" +
                                                std::to_string(report.issues.size()) + " of " +
                                                std::to_string(report.lines) + " lines have issues): " +
                                                issue_list(report.issues));
    if (report.examples.empty())
      throw Error(ErrorKind::invalid_input, "'" + filename_ + "' has no examples: a fine-tuning file is JSONL "
                                            "with one {\"messages\": [...]} object per line");
    db::UploadedFile row;
    row.user_id = user_id_;
    row.filename = filename_;
    row.purpose = *purpose_;
    row.bytes = static_cast<std::int64_t>(file_->bytes());
    row.sha256 = sha256;
    row.path = file_->keep().string();
    try {
      row = db::UploadedFiles(api_.db).add(row);
    } catch (...) {
      std::error_code ignored;
      std::filesystem::remove(row.path, ignored);  // no row, no file
      throw;
    }
    SPDLOG_INFO("user {} uploaded {} ({} bytes) as {}", user_id_, filename_, row.bytes, file_public_id(row.id));
    return json_response(file_object(row));
  }

 private:
  enum class Field { file, purpose, other };

  MultipartReader::Events events() {
    return {[this](const FormPart& part) { begin(part); },
            [this](std::string_view bytes) { data(bytes); },
            [] {}};
  }

  void begin(const FormPart& part) {
    if (part.name == "file") {
      if (file_) throw Error(ErrorKind::invalid_input, "the form has more than one 'file' field; send one file per request");
      file_.emplace(user_id_, api_.db.data_key(user_id_));
      filename_ = part.filename.value_or("file");
      field_ = Field::file;
    } else if (part.name == "purpose") {
      purpose_.emplace();
      field_ = Field::purpose;
    } else {
      field_ = Field::other;  // fields OpenAI may add later are ignored
    }
  }

  void data(std::string_view bytes) {
    if (field_ == Field::file) {
      file_->write(bytes);
    } else if (field_ == Field::purpose) {
      if (purpose_->size() + bytes.size() > max_field_bytes)
        throw Error(ErrorKind::invalid_input, "the 'purpose' field is too long; the accepted value is \"fine-tune\"");
      purpose_->append(bytes);
    }
  }

  ApiContext& api_;
  std::int64_t user_id_;
  MultipartReader form_;
  Field field_ = Field::other;
  std::optional<UploadFile> file_;
  std::string filename_;
  std::optional<std::string> purpose_;
};

Response list_files(ApiContext& api, const Request& r) {
  const std::string purpose = r.query("purpose");
  json::array data;
  for (const auto& f : db::UploadedFiles(api.db).list(r.caller.user_id))
    if (purpose.empty() || f.purpose == purpose) data.push_back(file_object(f));
  return json_response(json::object{{"object", "list"}, {"data", std::move(data)}, {"has_more", false}});
}

Response file_content(ApiContext& api, const Request& r) {
  const db::UploadedFile f = find_file(api, r);
  Response out;
  out.content_type = "application/octet-stream";
  try {
    out.body = crypto::read_file(f.path);  // the owner's own file, opened for them
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::not_found) throw;
    // Never the path: the client knows only the file's id.
    SPDLOG_WARN("uploaded file {} of user {} is missing from disk", f.id, f.user_id);
    throw Error(ErrorKind::not_found, "no file with id '" + file_public_id(f.id) + "'");
  }
  return out;
}

Response delete_file(ApiContext& api, const Request& r) {
  const db::UploadedFile f = find_file(api, r);
  db::UploadedFiles(api.db).remove(f.user_id, f.id);
  std::error_code ec;
  std::filesystem::remove(f.path, ec);
  if (ec) SPDLOG_WARN("could not remove the uploaded file {}: {}", f.path, ec.message());
  return json_response(json::object{{"id", file_public_id(f.id)}, {"object", "file"}, {"deleted", true}});
}

}  // namespace

void add_files_routes(Router& router, ApiContext& api) {
  const auto mib = config::get_int("HEARTH_MAX_UPLOAD", 1, 1 << 24);
  router.add_upload(
      "POST", "/v1/files",
      [&api](const Request& r) -> std::unique_ptr<BodySink> { return std::make_unique<FileUpload>(api, r); },
      static_cast<std::uint64_t>(mib) << 20,
      "the upload is larger than the limit of " + std::to_string(mib) + " MiB (HEARTH_MAX_UPLOAD)");
  router.add("GET", "/v1/files", [&api](const Request& r) { return list_files(api, r); });
  router.add("GET", "/v1/files/{id}",
             [&api](const Request& r) { return json_response(file_object(find_file(api, r))); });
  router.add("GET", "/v1/files/{id}/content", [&api](const Request& r) { return file_content(api, r); });
  router.add("DELETE", "/v1/files/{id}", [&api](const Request& r) { return delete_file(api, r); });
}

}  // namespace hearth::server
