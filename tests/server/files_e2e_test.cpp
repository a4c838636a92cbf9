// End to end, on SQLite and PostgreSQL: OpenAI's Files API on the real `hearth serve`, with
// libcurl's own multipart uploads (a known length, or chunked with none). Two users with tokens:
// upload, list, get, content and delete; another user's file is a 404 like a missing one; an
// upload larger than the 8 MiB body limit streams to disk; HEARTH_MAX_UPLOAD answers 413 and
// leaves no file; a request without a valid token writes nothing; invalid JSONL, a wrong purpose
// and broken forms are refused and leave no file.
#include <curl/curl.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "crypto/sealed_file.h"
#include "core/sha256.h"
#include "db/db.h"
#include "db/db_test_support.h"
#include "db/training.h"
#include "server/server_process.h"
#include "support/json_test_util.h"
#include "support/test_support.h"

namespace hearth {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using test::Env;
using test::http;
using test::HttpOptions;
using test::HttpResult;
using test::json_from;

class FilesEndToEnd : public db::test::BackendTest {};

// `lines` chat examples of OpenAI's fine-tuning format, padded to at least `min_bytes`.
std::string chat_jsonl(int lines, std::size_t min_bytes = 0) {
  std::string out;
  for (int i = 0; i < lines || out.size() < min_bytes; ++i)
    out += R"({"messages": [{"role": "user", "content": "question )" + std::to_string(i) +
           R"("}, {"role": "assistant", "content": "answer )" + std::to_string(i) + R"("}]})" + "\n";
  return out;
}

struct Form {
  std::string content;
  std::string filename = "train.jsonl";
  std::string purpose = "fine-tune";
  std::string token;     // sent as a Bearer token when set
  bool chunked = false;  // no Content-Length: the size is unknown until the end
};

struct Feed {
  const std::string* content;
  std::size_t at = 0;
};

size_t collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

size_t feed(char* buffer, size_t size, size_t n, void* arg) {
  auto* f = static_cast<Feed*>(arg);
  const size_t count = std::min(size * n, f->content->size() - f->at);
  std::copy_n(f->content->data() + f->at, count, buffer);
  f->at += count;
  return count;
}

// POST /v1/files as libcurl sends a form: the file part first, then purpose (as the openai
// client does).
HttpResult upload(const test::ServerProcess& server, const Form& form) {
  HttpResult result;
  Feed source{&form.content};
  CURL* curl = curl_easy_init();
  curl_mime* mime = curl_mime_init(curl);
  curl_mimepart* part = curl_mime_addpart(mime);
  curl_mime_name(part, "file");
  curl_mime_filename(part, form.filename.c_str());
  if (form.chunked)
    curl_mime_data_cb(part, -1, feed, nullptr, nullptr, &source);
  else
    curl_mime_data(part, form.content.data(), form.content.size());
  part = curl_mime_addpart(mime);
  curl_mime_name(part, "purpose");
  curl_mime_data(part, form.purpose.c_str(), CURL_ZERO_TERMINATED);
  const std::string url = server.url("/v1/files");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 60'000L);
  curl_easy_setopt(curl, CURLOPT_MIMEPOST, mime);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &result.body);
  curl_slist* headers = nullptr;
  const std::string auth = "Authorization: Bearer " + form.token;
  if (!form.token.empty()) headers = curl_slist_append(headers, auth.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  result.code = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
  curl_slist_free_all(headers);
  curl_mime_free(mime);
  curl_easy_cleanup(curl);
  return result;
}

// Every file under HEARTH_HOME/uploads (none when the folder does not exist).
std::vector<fs::path> stored_files(const fs::path& home) {
  std::vector<fs::path> out;
  std::error_code ec;
  if (!fs::exists(home / "uploads", ec)) return out;
  for (const auto& e : fs::recursive_directory_iterator(home / "uploads"))
    if (e.is_regular_file()) out.push_back(e.path());
  return out;
}

// An OpenAI-shaped error: {"error": {"message", "type", "code"}}; the message.
std::string openai_error(const HttpResult& r) {
  const json::value v = json_from(r.body);
  EXPECT_TRUE(v.at("error").at("type").is_string()) << r.body;
  EXPECT_TRUE(v.at("error").at("code").is_string()) << r.body;
  return json::value_to<std::string>(v.at("error").at("message"));
}

struct TwoUsers {
  test::TempDir home;
  Env env;
  std::string alice, bob;  // tokens
};

void make_users(TwoUsers& s, const std::string& db_url) {
  s.env = {{"HEARTH_HOME", s.home.path().string()}, {"HEARTH_DB", db_url}, {"HEARTH_LOG", "warn"}};
  s.alice = test::token_for(s.env, "alice");
  s.bob = test::token_for(s.env, "bob");
}

TEST_P(FilesEndToEnd, UploadListGetContentDeleteAndOtherUsersSee404) {
  TwoUsers s;
  make_users(s, url());
  ASSERT_FALSE(s.alice.empty());
  test::ServerProcess server(s.home.path(), {}, s.env);
  ASSERT_TRUE(server.wait_listening(std::chrono::seconds(20))) << server.output();
  HttpOptions as_alice, as_bob;
  as_alice.headers = {"Authorization: Bearer " + s.alice};
  as_bob.headers = {"Authorization: Bearer " + s.bob};

  const std::string content = chat_jsonl(20);
  const auto before = std::chrono::system_clock::now();
  const HttpResult up = upload(server, {content, "train.jsonl", "fine-tune", s.alice});
  ASSERT_EQ(up.status, 200) << up.body;
  const json::value file = json_from(up.body);
  const std::string id = json::value_to<std::string>(file.at("id"));
  EXPECT_EQ(id.rfind("file-", 0), 0u) << id;
  EXPECT_EQ(file.at("object").as_string(), "file");
  EXPECT_EQ(file.at("bytes").to_number<std::int64_t>(), static_cast<std::int64_t>(content.size()));
  EXPECT_EQ(file.at("filename").as_string(), "train.jsonl");
  EXPECT_EQ(file.at("purpose").as_string(), "fine-tune");
  EXPECT_EQ(file.at("status").as_string(), "processed");
  const auto created = file.at("created_at").to_number<std::int64_t>();
  const auto unix_before = std::chrono::duration_cast<std::chrono::seconds>(before.time_since_epoch()).count();
  EXPECT_GE(created, unix_before - 1);
  EXPECT_LE(created, unix_before + 60);

  // Kept under the owner's folder, whole, with its digest recorded.
  auto db = open();
  const std::int64_t alice_id = db::Users(db).find_by_name("alice")->id;
  const auto kept = stored_files(s.home.path());
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].parent_path(), s.home.path() / "uploads" / std::to_string(alice_id));
  EXPECT_TRUE(crypto::is_sealed_file(kept[0]));  // encrypted at rest, opened for its owner
  EXPECT_EQ(crypto::read_file(kept[0]), content);
  const auto row = db::UploadedFiles(db).find(alice_id, std::stoll(id.substr(5)));
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->sha256, sha256_hex(content));
  EXPECT_EQ(fs::path(row->path), kept[0]);

  HttpResult r = http("GET", server.url("/v1/files"), nullptr, as_alice);
  ASSERT_EQ(r.status, 200) << r.body;
  json::value list = json_from(r.body);
  EXPECT_EQ(list.at("object").as_string(), "list");
  ASSERT_EQ(list.at("data").as_array().size(), 1u);
  EXPECT_EQ(list.at("data").at(0), file);
  r = http("GET", server.url("/v1/files/" + id), nullptr, as_alice);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json_from(r.body), file);
  r = http("GET", server.url("/v1/files/" + id + "/content"), nullptr, as_alice);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, content);

  // Bob sees nothing of it: 404 exactly like an id nobody has, and an empty list.
  r = http("GET", server.url("/v1/files"), nullptr, as_bob);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(json_from(r.body).at("data").as_array().empty()) << r.body;
  for (const std::string method : {"GET", "DELETE"}) {
    for (const std::string& suffix : {std::string(), std::string("/content")}) {
      if (method == "DELETE" && !suffix.empty()) continue;
      const HttpResult theirs = http(method, server.url("/v1/files/" + id + suffix), nullptr, as_bob);
      const HttpResult nobodys = http(method, server.url("/v1/files/file-987654" + suffix), nullptr, as_bob);
      EXPECT_EQ(theirs.status, 404) << method << suffix << theirs.body;
      EXPECT_EQ(nobodys.status, 404);
      json::value a = json_from(theirs.body), b = json_from(nobodys.body);
      EXPECT_EQ(a.at("error").at("type"), b.at("error").at("type"));
      EXPECT_EQ(a.at("error").at("code"), b.at("error").at("code"));
    }
  }
  // Ids are file-<number>, nothing else.
  for (const std::string& bad : {std::string("file-0"), "file-0" + id.substr(5), id.substr(5), id + "x", std::string("file-")}) {
    r = http("GET", server.url("/v1/files/" + bad), nullptr, as_alice);
    EXPECT_EQ(r.status, 404) << bad << " " << r.body;
  }
  EXPECT_EQ(stored_files(s.home.path()).size(), 1u);  // bob's DELETE removed nothing

  r = http("DELETE", server.url("/v1/files/" + id), nullptr, as_alice);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json_from(r.body), (json::value{{"id", id}, {"object", "file"}, {"deleted", true}}));
  EXPECT_EQ(http("GET", server.url("/v1/files/" + id), nullptr, as_alice).status, 404);
  EXPECT_EQ(http("DELETE", server.url("/v1/files/" + id), nullptr, as_alice).status, 404);
  EXPECT_TRUE(json_from(http("GET", server.url("/v1/files"), nullptr, as_alice).body).at("data").as_array().empty());
  EXPECT_TRUE(stored_files(s.home.path()).empty());
}

TEST_P(FilesEndToEnd, UploadsStreamPastTheBodyLimitButNotPastTheirOwn) {
  TwoUsers s;
  make_users(s, url());
  ASSERT_FALSE(s.alice.empty());
  {
    // The default limit (512 MiB): 9 MiB is more than any other route takes, in one piece or
    // chunked.
    test::ServerProcess server(s.home.path(), {}, s.env);
    ASSERT_TRUE(server.wait_listening(std::chrono::seconds(20))) << server.output();
    const std::string big = chat_jsonl(0, 9u << 20);
    for (bool chunked : {false, true}) {
      Form form{big, "big.jsonl", "fine-tune", s.alice, chunked};
      const HttpResult up = upload(server, form);
      ASSERT_EQ(up.status, 200) << up.body;
      EXPECT_EQ(json_from(up.body).at("bytes").to_number<std::int64_t>(), static_cast<std::int64_t>(big.size()));
    }
    const auto kept = stored_files(s.home.path());
    ASSERT_EQ(kept.size(), 2u);
    auto db = open();  // whose keys open the sealed uploads
    for (const auto& f : kept) EXPECT_EQ(sha256_hex(crypto::read_file(f)), sha256_hex(big));
    // Every other route keeps the 8 MiB body limit.
    HttpOptions as_alice;
    as_alice.headers = {"Authorization: Bearer " + s.alice};
    const std::string body = "{\"model\": \"x\", \"prompt\": \"" + std::string(9u << 20, 'a') + "\"}";
    EXPECT_EQ(http("POST", server.url("/v1/completions"), &body, as_alice).status, 413);
  }
  for (const auto& f : stored_files(s.home.path())) fs::remove(f);

  // HEARTH_MAX_UPLOAD=1: 2 MiB is refused with 413 in OpenAI's shape, whether the length is
  // known up front or only once it has streamed past the limit, and no partial file stays.
  Env small = s.env;
  small.emplace_back("HEARTH_MAX_UPLOAD", "1");
  test::ServerProcess server(s.home.path(), {}, small);
  ASSERT_TRUE(server.wait_listening(std::chrono::seconds(20))) << server.output();
  const std::string two_mib = chat_jsonl(0, 2u << 20);
  for (bool chunked : {false, true}) {
    const HttpResult up = upload(server, {two_mib, "big.jsonl", "fine-tune", s.alice, chunked});
    EXPECT_EQ(up.status, 413) << chunked << " " << up.body;
    const std::string message = openai_error(up);
    EXPECT_NE(message.find("1 MiB (HEARTH_MAX_UPLOAD)"), std::string::npos) << message;
    EXPECT_TRUE(stored_files(s.home.path()).empty()) << chunked;
  }
  // Under the limit it still works.
  const HttpResult ok = upload(server, {chat_jsonl(5), "small.jsonl", "fine-tune", s.alice, true});
  EXPECT_EQ(ok.status, 200) << ok.body;
}

TEST_P(FilesEndToEnd, WithoutAValidTokenNothingIsWritten) {
  TwoUsers s;
  make_users(s, url());
  ASSERT_FALSE(s.alice.empty());
  test::ServerProcess server(s.home.path(), {}, s.env);
  ASSERT_TRUE(server.wait_listening(std::chrono::seconds(20))) << server.output();
  const std::string content = chat_jsonl(0, 3u << 20);
  for (const std::string& token : {std::string(), "hearth_" + std::string(43, 'A')}) {
    for (bool chunked : {false, true}) {
      const HttpResult up = upload(server, {content, "train.jsonl", "fine-tune", token, chunked});
      EXPECT_EQ(up.status, 401) << up.body;
      EXPECT_FALSE(openai_error(up).empty());
    }
  }
  // 64 MiB, far beyond the 8 MiB body limit: refused on its headers as unauthenticated (a 401,
  // not a 413 after reading 8 MiB of it).
  const std::string huge(64u << 20, 'x');
  for (bool chunked : {false, true}) {
    const HttpResult up = upload(server, {huge, "huge.jsonl", "fine-tune", "", chunked});
    EXPECT_EQ(up.status, 401) << chunked << " " << up.body;
  }
  EXPECT_FALSE(fs::exists(s.home.path() / "uploads"));
  // The server is still fine afterwards.
  EXPECT_EQ(upload(server, {chat_jsonl(2), "t.jsonl", "fine-tune", s.alice}).status, 200);
}

TEST_P(FilesEndToEnd, InvalidDataPurposeAndFormsAreRefusedAndLeaveNoFile) {
  TwoUsers s;
  make_users(s, url());
  ASSERT_FALSE(s.alice.empty());
  test::ServerProcess server(s.home.path(), {}, s.env);
  ASSERT_TRUE(server.wait_listening(std::chrono::seconds(20))) << server.output();

  // Line 2 is not JSON, line 4 has no assistant answer: both named, with their line numbers.
  std::string bad = chat_jsonl(1) + "{not json\n" + chat_jsonl(1) +
                    R"({"messages": [{"role": "user", "content": "only a question"}]})" + "\n";
  HttpResult r = upload(server, {bad, "bad.jsonl", "fine-tune", s.alice});
  EXPECT_EQ(r.status, 400) << r.body;
  std::string message = openai_error(r);
  EXPECT_NE(message.find("line 2"), std::string::npos) << message;
  EXPECT_NE(message.find("line 4"), std::string::npos) << message;
  EXPECT_NE(message.find("bad.jsonl"), std::string::npos) << message;
  EXPECT_TRUE(stored_files(s.home.path()).empty());

  r = upload(server, {"", "empty.jsonl", "fine-tune", s.alice});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_TRUE(stored_files(s.home.path()).empty());

  r = upload(server, {chat_jsonl(3), "train.jsonl", "assistants", s.alice});
  EXPECT_EQ(r.status, 400) << r.body;
  message = openai_error(r);
  EXPECT_NE(message.find("\"fine-tune\""), std::string::npos) << message;
  EXPECT_NE(message.find("assistants"), std::string::npos) << message;
  EXPECT_TRUE(stored_files(s.home.path()).empty());

  // Forms that are not forms, or have no file part.
  HttpOptions raw;
  raw.headers = {"Authorization: Bearer " + s.alice,
                 "Content-Type: multipart/form-data; boundary=XyZ"};
  const std::string no_file = "--XyZ\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nfine-tune\r\n--XyZ--\r\n";
  r = http("POST", server.url("/v1/files"), &no_file, raw);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(openai_error(r).find("'file'"), std::string::npos) << r.body;
  const std::string truncated = "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jsonl\"\r\n\r\n" +
                                chat_jsonl(2);
  r = http("POST", server.url("/v1/files"), &truncated, raw);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(openai_error(r).find("closing boundary"), std::string::npos) << r.body;
  HttpOptions json_type;
  json_type.headers = {"Authorization: Bearer " + s.alice};
  r = http("POST", server.url("/v1/files"), &no_file, json_type);  // sent as application/json
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(openai_error(r).find("multipart/form-data"), std::string::npos) << r.body;
  EXPECT_TRUE(stored_files(s.home.path()).empty());
  EXPECT_EQ(upload(server, {chat_jsonl(2), "t.jsonl", "fine-tune", s.alice}).status, 200);
}

HEARTH_DB_BACKENDS(FilesEndToEnd);

}  // namespace
}  // namespace hearth
