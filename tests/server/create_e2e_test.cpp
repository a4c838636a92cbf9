// End to end on the real `hearth serve` with two users and tokens: Ollama's blob routes
// (POST/HEAD /api/blobs/:digest) and POST /api/create. Uploads are checked against their digest
// and kept only whole; HEAD answers only to who sent the bytes or uses them; HEARTH_MAX_BLOB
// answers 413. Models are made from a GGUF blob, from an installed model with a LoRA adapter
// (which then runs as base + adapter, as `hearth generate --lora` does), quantized, and refused
// with a 400 naming the field for every bad request; deleting a made model keeps the base's blob.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "core/json_text.h"
#include "core/sha256.h"
#include "engine/model/lora_files.h"
#include "server/inference.h"
#include "server/server_process.h"
#include "support/json_test_util.h"
#include "support/test_support.h"

namespace hearth {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using test::http;
using test::HttpOptions;
using test::HttpResult;
using test::json_from;

const std::vector<std::string> kTargets = {"attn_q.weight", "attn_v.weight", "ffn_up.weight"};

struct Site {
  test::TempDir home;
  test::Env env;
  std::string alice, bob;
  std::unique_ptr<test::ServerProcess> server;
  HttpOptions as_alice, as_bob;

  explicit Site(const std::string& max_blob_mib = "64") {
    env = {{"HEARTH_HOME", home.path().string()}, {"HEARTH_LOG", "warn"},
           {"HEARTH_MAX_BLOB", max_blob_mib}};
    alice = test::token_for(env, "alice");
    bob = test::token_for(env, "bob");
    server = std::make_unique<test::ServerProcess>(home.path(), std::vector<std::string>{}, env);
    as_alice.headers = {"Authorization: Bearer " + alice};
    as_bob.headers = {"Authorization: Bearer " + bob};
    as_alice.timeout_ms = as_bob.timeout_ms = 60'000;
  }
  HttpResult upload(const std::string& digest, const std::string& bytes, const HttpOptions& who) {
    return http("POST", server->url("/api/blobs/" + digest), &bytes, who);
  }
  HttpResult head(const std::string& digest, const HttpOptions& who) {
    return http("HEAD", server->url("/api/blobs/" + digest), nullptr, who);
  }
  HttpResult post(const std::string& path, const json::value& body, const HttpOptions& who) {
    const std::string text = format_json(body);
    return http("POST", server->url(path), &text, who);
  }
  // Files left in blobs/ other than finished blobs (partial uploads).
  int stray_files() const {
    int n = 0;
    std::error_code ec;
    if (!fs::exists(home.path() / "blobs", ec)) return 0;
    for (const auto& e : fs::directory_iterator(home.path() / "blobs"))
      if (!e.path().filename().string().starts_with("sha256-")) ++n;
    return n;
  }
};

std::string digest_of(const std::string& bytes) { return "sha256:" + sha256_hex(bytes); }

std::string error_of(const HttpResult& r) {
  const json::value v = json_from(r.body);
  return std::string(v.at("error").as_string());
}

TEST(CreateEndToEnd, BlobUploadChecksDigestSizeAndWhoMaySeeIt) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  Site s("1");  // 1 MiB: the model fits, a bigger body does not
  ASSERT_FALSE(s.alice.empty());
  ASSERT_TRUE(s.server->wait_listening(std::chrono::seconds(20))) << s.server->output();
  const std::string bytes = test::read_file(dir / "models" / "llama-gqa-f32.gguf");
  const std::string digest = digest_of(bytes);

  // No token: nothing is read or written.
  EXPECT_EQ(s.upload(digest, bytes, {}).status, 401);
  EXPECT_EQ(s.head(digest, s.as_alice).status, 404);  // nobody has it yet

  HttpResult r = s.upload(digest, bytes, s.as_alice);
  ASSERT_EQ(r.status, 201) << r.body;
  const fs::path blob = s.home.path() / "blobs" / ("sha256-" + digest.substr(7));
  EXPECT_EQ(test::read_file(blob), bytes);
  EXPECT_EQ(s.head(digest, s.as_alice).status, 200);
  // The other forms of the digest name the same blob.
  EXPECT_EQ(s.head("sha256-" + digest.substr(7), s.as_alice).status, 200);
  EXPECT_EQ(s.head("sha256%3A" + digest.substr(7), s.as_alice).status, 200);
  // Bob never sent these bytes: 404, exactly as for a blob nobody has.
  EXPECT_EQ(s.head(digest, s.as_bob).status, 404);
  EXPECT_EQ(s.head(digest_of("nothing"), s.as_bob).status, 404);

  // A body whose digest differs: 400 naming both, nothing kept.
  const std::string other = digest_of("other bytes");
  r = s.upload(other, bytes, s.as_bob);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(error_of(r).find("digest mismatch"), std::string::npos) << r.body;
  EXPECT_NE(error_of(r).find(digest), std::string::npos) << r.body;
  EXPECT_FALSE(fs::exists(s.home.path() / "blobs" / ("sha256-" + other.substr(7))));
  EXPECT_EQ(s.head(digest, s.as_bob).status, 404);
  EXPECT_EQ(s.stray_files(), 0);

  // A malformed digest names the path's digest.
  r = s.upload("sha256:12ab", "x", s.as_alice);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(error_of(r).find("digest"), std::string::npos) << r.body;
  EXPECT_EQ(s.head("md5:12", s.as_alice).status, 400);

  // Over HEARTH_MAX_BLOB: 413 naming the limit, nothing kept.
  const std::string big(1536 * 1024, 'x');
  r = s.upload(digest_of(big), big, s.as_bob);
  EXPECT_EQ(r.status, 413) << r.body;
  EXPECT_NE(r.body.find("HEARTH_MAX_BLOB"), std::string::npos) << r.body;
  EXPECT_FALSE(fs::exists(s.home.path() / "blobs" / ("sha256-" + digest_of(big).substr(7))));
  EXPECT_EQ(s.stray_files(), 0);

  // Bob sending the same bytes may use them from then on; the blob stays one file.
  r = s.upload(digest, bytes, s.as_bob);
  EXPECT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(s.head(digest, s.as_bob).status, 200);
  EXPECT_EQ(test::read_file(blob), bytes);
}

// /api/generate, greedy and raw: the text.
std::string greedy(Site& s, const std::string& model, const std::string& prompt, int n) {
  const HttpResult r = s.post("/api/generate",
                              json::object{{"model", model},
                                           {"prompt", prompt},
                                           {"raw", true},
                                           {"stream", false},
                                           {"options", json::object{{"temperature", 0},
                                                                    {"repeat_penalty", 1.0},
                                                                    {"num_predict", n}}}},
                              s.as_alice);
  EXPECT_EQ(r.status, 200) << r.body;
  if (r.status != 200) return {};
  return std::string(json_from(r.body).at("response").as_string());
}

TEST(CreateEndToEnd, FromBlobWithAdapterQuantizeBadFieldsAndDelete) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  Site s;
  ASSERT_FALSE(s.alice.empty());
  ASSERT_TRUE(s.server->wait_listening(std::chrono::seconds(20))) << s.server->output();
  const fs::path base_file = dir / "models" / "llama-gqa-f32.gguf";
  const std::string base = test::read_file(base_file);
  const fs::path adapter_file = s.home.path() / "adapter.gguf";
  model::test::write_adapter(adapter_file, model::test::random_adapter(base_file, kTargets, 8, 32, 7));
  const std::string adapter = test::read_file(adapter_file);
  const std::string base_digest = digest_of(base), adapter_digest = digest_of(adapter);
  ASSERT_EQ(s.upload(base_digest, base, s.as_alice).status, 201);
  ASSERT_EQ(s.upload(adapter_digest, adapter, s.as_alice).status, 201);

  // From the GGUF blob, not streamed: one {"status": "success"}.
  HttpResult r = s.post("/api/create",
                        json::object{{"model", "base"},
                                     {"files", json::object{{"model.gguf", base_digest}}},
                                     {"stream", false}},
                        s.as_alice);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json_from(r.body), (json::value{{"status", "success"}}));

  // Bob cannot build from Alice's blobs: they answer as missing ones.
  for (const json::value& body :
       {json::value{{"model", "mine"}, {"files", json::object{{"m.gguf", base_digest}}}},
        json::value{{"model", "mine"}, {"from", "base"}}}) {
    r = s.post("/api/create", body, s.as_bob);
    EXPECT_EQ(r.status, 404) << r.body;
  }
  EXPECT_EQ(s.head(adapter_digest, s.as_bob).status, 404);

  // From the installed model with the adapter, system, parameters and template: streamed.
  r = s.post("/api/create",
             json::object{{"model", "helper"},
                          {"from", "base"},
                          {"adapters", json::object{{"adapter.gguf", adapter_digest}}},
                          {"system", "You are terse."},
                          {"template", "{{ .Prompt }}"},
                          {"license", json::array{"MIT", "text"}},
                          {"parameters", json::object{{"temperature", 0.25}, {"stop", json::array{"END"}}}}},
             s.as_alice);
  ASSERT_EQ(r.status, 200) << r.body;
  const auto lines = test::json_lines(r.body);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back(), (json::value{{"status", "success"}})) << r.body;
  EXPECT_NE(r.body.find("using existing layer " + adapter_digest), std::string::npos) << r.body;

  r = s.post("/api/show", json::object{{"model", "helper"}}, s.as_alice);
  ASSERT_EQ(r.status, 200) << r.body;
  const json::value show = json_from(r.body);
  const std::string modelfile(show.at("modelfile").as_string());
  EXPECT_NE(modelfile.find("ADAPTER " + adapter_digest), std::string::npos) << modelfile;
  EXPECT_NE(modelfile.find("SYSTEM \"\"\"You are terse.\"\"\""), std::string::npos) << modelfile;
  EXPECT_NE(modelfile.find("PARAMETER temperature"), std::string::npos) << modelfile;
  EXPECT_EQ(show.at("system").as_string(), "You are terse.");
  EXPECT_EQ(show.at("license").as_string(), "MIT\n\ntext");
  EXPECT_EQ(show.at("template").as_string(), "{{ .Prompt }}");
  EXPECT_EQ(show.at_pointer("/details/adapters/0/digest").as_string(), adapter_digest);

  // The made model runs as base + adapter: what `hearth generate --lora` gives.
  const std::string prompt = "once upon a time";
  const std::string with = greedy(s, "helper", prompt, 10);
  const std::string without = greedy(s, "base", prompt, 10);
  EXPECT_NE(with, without);
  const auto cli = test::run_hearth({"generate", base_file.string(), "--lora", adapter_file.string(),
                                     "--prompt", prompt, "-n", "10"},
                                    s.env);
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_EQ(cli.out.rfind(with, 0), 0u) << "server: [" << with << "] cli: [" << cli.out << "]";

  // Quantized from the F32 weights; the adapter goes along.
  r = s.post("/api/create",
             json::object{{"model", "small"}, {"from", "helper"}, {"quantize", "q8_0"}},
             s.as_alice);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("quantizing model to Q8_0"), std::string::npos) << r.body;
  EXPECT_EQ(test::json_lines(r.body).back(), (json::value{{"status", "success"}})) << r.body;
  r = s.post("/api/show", json::object{{"model", "small"}}, s.as_alice);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json_from(r.body).at_pointer("/details/quantization_level").as_string(), "Q8_0") << r.body;
  EXPECT_FALSE(greedy(s, "small", prompt, 4).empty());

  // Bad requests: a 400 naming the field, before anything streams.
  const std::vector<std::pair<json::value, std::string>> bad = {
      {json::value{{"model", "x"}, {"modelfile", "FROM base"}}, "modelfile"},
      {json::value{{"model", "x"}}, "from"},
      {json::value{{"model", "x"}, {"from", "base"}, {"files", json::object{}}}, "files"},
      {json::value{{"from", "base"}}, "model"},
      {json::value{{"model", "x"}, {"from", "base"}, {"quantize", "q9_9"}}, "quantize"},
      {json::value{{"model", "x"}, {"from", "small"}, {"quantize", "q4_K_M"}}, "quantize"},
      {json::value{{"model", "x"}, {"from", "base"}, {"parameters", json::object{{"temprature", 1}}}},
       "parameters"},
      {json::value{{"model", "x"}, {"from", "base"},
                   {"messages", json::array{json::object{{"role", "user"}, {"content", "hi"}}}}},
       "messages"},
      {json::value{{"model", "x"}, {"from", "base"}, {"adapters", json::object{{"a", 5}}}},
       "adapters.a"},
      {json::value{{"model", "x"}, {"from", "base"}, {"adapters", json::object{{"a", base_digest}}}},
       "adapters.a"},
      {json::value{{"model", "x"}, {"files", json::object{{"a.gguf", adapter_digest}}}}, "files.a.gguf"},
  };
  for (const auto& [body, field] : bad) {
    r = s.post("/api/create", body, s.as_alice);
    EXPECT_EQ(r.status, 400) << json::serialize(body) << " -> " << r.body;
    EXPECT_NE(r.body.find(field), std::string::npos) << json::serialize(body) << " -> " << r.body;
  }

  // A blob nobody sent: 404 naming the field, as for another user's.
  r = s.post("/api/create",
             json::object{{"model", "x"}, {"from", "base"},
                          {"adapters", json::object{{"a", digest_of("never sent")}}}},
             s.as_alice);
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_NE(r.body.find("adapters.a"), std::string::npos) << r.body;

  // Deleting the made models keeps the base's weights (still named by "base").
  for (const char* name : {"helper", "small"}) {
    const std::string body = format_json(json::object{{"model", name}});
    EXPECT_EQ(http("DELETE", s.server->url("/api/delete"), &body, s.as_alice).status, 200);
  }
  EXPECT_TRUE(fs::exists(s.home.path() / "blobs" / ("sha256-" + base_digest.substr(7))));
  EXPECT_EQ(greedy(s, "base", prompt, 10), without);
}

// A made model's "system" is the default system prompt: first in a chat that has none, generate's
// `system` when the request gives none, and never over the request's own.
TEST(CreateDefaults, SystemPromptOnlyWhereTheRequestBringsNone) {
  server::GenerationRequest chat;
  chat.default_system = "be brief";
  chat.messages = {{"user", "hi"}};
  server::apply_default_system(chat);
  ASSERT_EQ(chat.messages.size(), 2u);
  EXPECT_EQ(chat.messages[0].role, "system");
  EXPECT_EQ(chat.messages[0].content, "be brief");
  EXPECT_EQ(chat.messages[1].content, "hi");

  server::GenerationRequest own = chat;
  own.messages = {{"system", "mine"}, {"user", "hi"}};
  server::apply_default_system(own);
  ASSERT_EQ(own.messages.size(), 2u);
  EXPECT_EQ(own.messages[0].content, "mine");

  server::GenerationRequest generate;
  generate.default_system = "be brief";
  generate.prompt = "hi";
  server::apply_default_system(generate);
  EXPECT_EQ(generate.system, "be brief");
  generate.system = "mine";
  server::apply_default_system(generate);
  EXPECT_EQ(generate.system, "mine");

  server::GenerationRequest none;
  none.messages = {{"user", "hi"}};
  server::apply_default_system(none);
  EXPECT_EQ(none.messages.size(), 1u);
}

}  // namespace
}  // namespace hearth
