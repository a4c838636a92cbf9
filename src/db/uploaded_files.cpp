// UploadedFiles: files sent to POST /v1/files (training.h).
#include "db/internal.h"
#include "db/training.h"

namespace hearth::db {
namespace {

struct FileRow {
  long long id = 0, user_id = 0, bytes = 0;
  std::string filename, purpose, path, sha256, created_at;

  void bind(soci::statement& st) {
    st.exchange(soci::into(id));
    st.exchange(soci::into(user_id));
    st.exchange(soci::into(filename));
    st.exchange(soci::into(purpose));
    st.exchange(soci::into(bytes));
    st.exchange(soci::into(path));
    st.exchange(soci::into(sha256));
    st.exchange(soci::into(created_at));
  }
  UploadedFile get() const {
    return {id, user_id, filename, purpose, bytes, path, sha256,
            detail::read_time(created_at, "uploaded_files.created_at")};
  }
};

std::string select_list(const Database::Impl& db) {
  return "SELECT id, user_id, filename, purpose, bytes, path, sha256, " +
         detail::time_column(db, "created_at") + " FROM uploaded_files ";
}

}  // namespace

UploadedFile UploadedFiles::add(const UploadedFile& f) {
  long long user = f.user_id, bytes = f.bytes;
  const std::string stamp = format_time(now());
  long long id = detail::with_session(*db_, "recording an uploaded file", [&](soci::session& sql) {
    long long new_id = 0;
    sql << "INSERT INTO uploaded_files (user_id, filename, purpose, bytes, path, sha256, "
           "created_at) VALUES (:u, :f, :p, :b, :path, :s, :c) RETURNING id",
        soci::use(user), soci::use(f.filename), soci::use(f.purpose), soci::use(bytes),
        soci::use(f.path), soci::use(f.sha256), soci::use(stamp), soci::into(new_id);
    return new_id;
  });
  UploadedFile out = f;
  out.id = id;
  out.created_at = parse_time(stamp);
  return out;
}

std::optional<UploadedFile> UploadedFiles::find(std::int64_t user_id, std::int64_t id) {
  long long user = user_id, key = id;
  auto rows = detail::with_session(*db_, "finding an uploaded file", [&](soci::session& sql) {
    return detail::query_rows<FileRow>(sql, select_list(*db_) + "WHERE id = :id AND user_id = :u",
                                       soci::use(key), soci::use(user));
  });
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

std::vector<UploadedFile> UploadedFiles::list(std::int64_t user_id) {
  long long user = user_id;
  return detail::with_session(*db_, "listing uploaded files", [&](soci::session& sql) {
    return detail::query_rows<FileRow>(
        sql, select_list(*db_) + "WHERE user_id = :u ORDER BY id DESC", soci::use(user));
  });
}

bool UploadedFiles::remove(std::int64_t user_id, std::int64_t id) {
  long long user = user_id, key = id;
  return detail::with_session(*db_, "removing an uploaded file", [&](soci::session& sql) {
    return detail::execute(sql, "DELETE FROM uploaded_files WHERE id = :id AND user_id = :u",
                           soci::use(key), soci::use(user)) > 0;
  });
}

}  // namespace hearth::db
