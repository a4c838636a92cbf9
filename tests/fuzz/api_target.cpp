// The API target: every route the router has (enumerated, so that new routes are fuzzed too),
// driven in-process through Router::handle with mutated request bodies, path parameters and
// query strings.
//
// An input is "METHOD TARGET\nCONTENT-TYPE\nBODY". The oracle: an answer (streamed answers are
// read to their end) within the hang bound; a status below 500; a 4xx answer is a JSON error with
// a message. Statuses of 500 and more are failures with one exception, listed in kAllowed503.
// When a mutation changed one member's value and the answer is 400, the report counts the
// messages that do not name that member (figures, not failures: a missing member or a broken
// document may be what the message rightly names).
#include <boost/json.hpp>

#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "core/error.h"
#include "fuzz/fuzz.h"
#include "fuzz/world.h"
#include "server/response_stream.h"

namespace hearth::fuzz {
namespace {

namespace json = boost::json;

const char* const kBoundary = "fuzzb0undary";

// Valid bodies per route ("METHOD path pattern"); a route without one gets "{}" (or no body for
// GET and DELETE). MODEL is replaced by the installed model's name.
const std::multimap<std::string, std::string> kBodies = {
    {"POST /v1/chat/completions",
     R"({"model":"MODEL","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}],"max_tokens":4,"temperature":0.7,"top_p":0.9,"seed":1,"stop":["\n"],"stream":false})"},
    {"POST /v1/chat/completions",
     R"({"model":"MODEL","messages":[{"role":"user","content":"hi"}],"max_tokens":3,"stream":true,"stream_options":{"include_usage":true},"response_format":{"type":"json_object"},"presence_penalty":0.5,"frequency_penalty":0.1,"n":1,"logprobs":false})"},
    {"POST /v1/completions",
     R"({"model":"MODEL","prompt":"once upon","max_tokens":4,"temperature":0,"echo":false,"stream":false})"},
    {"POST /v1/completions", R"({"model":"MODEL","prompt":["a"],"max_tokens":2,"stream":true})"},
    {"POST /v1/embeddings", R"({"model":"MODEL","input":["hello","world"],"encoding_format":"float"})"},
    {"POST /v1/embeddings", R"({"model":"MODEL","input":"hello"})"},
    {"POST /api/chat",
     R"({"model":"MODEL","messages":[{"role":"user","content":"hi","images":[]}],"stream":false,"options":{"num_predict":4,"temperature":0.5,"top_k":40,"num_ctx":128,"seed":3,"stop":["x"]},"keep_alive":"5m","format":"json"})"},
    {"POST /api/chat", R"({"model":"MODEL","messages":[{"role":"user","content":"hi"}],"options":{"num_predict":2},"think":false})"},
    {"POST /api/generate",
     R"({"model":"MODEL","prompt":"why","system":"short","stream":false,"raw":false,"options":{"num_predict":3},"keep_alive":0})"},
    {"POST /api/generate", R"({"model":"MODEL","prompt":"<s>raw","raw":true,"stream":true,"options":{"num_predict":2}})"},
    {"POST /api/generate", R"({"model":"MODEL","keep_alive":"1s"})"},
    {"POST /api/embed", R"({"model":"MODEL","input":["a","b"],"truncate":true})"},
    {"POST /api/embeddings", R"({"model":"MODEL","prompt":"a"})"},
    {"POST /api/show", R"({"model":"MODEL","verbose":true})"},
    {"POST /api/show", R"({"name":"MODEL"})"},
    {"POST /api/pull", R"({"model":"qwen2.5:0.5b","stream":false,"insecure":false})"},
    {"POST /api/pull", R"({"name":"hf://org/repo/file.gguf","stream":true})"},
    {"DELETE /api/delete", R"({"model":"copy-of-tiny"})"},
    {"POST /api/copy", R"({"source":"MODEL","destination":"copy-of-tiny"})"},
    {"POST /api/create", R"({"model":"made","from":"MODEL","system":"s","template":"t","parameters":{"temperature":0.5,"stop":["x"]},"stream":false})"},
    {"POST /api/create", R"({"model":"made","from":"MODEL","quantize":"q8_0","adapters":{"a.gguf":"sha256:0000000000000000000000000000000000000000000000000000000000000000"}})"},
    {"HEAD /api/blobs/{digest}", ""},
    {"POST /api/personal-models/download", R"({"model_id":"qwen2.5:0.5b","force":false,"custom_name":"mine:v1"})"},
    {"PUT /api/personal-models/{id}", R"({"custom_name":"renamed","parameters":{"temperature":0.3,"num_ctx":128}})"},
    {"PUT /api/personal-models/{id}/schedule",
     R"({"enabled":true,"window":"sunday 02:00-06:00","time_zone":"Europe/Paris"})"},
    {"POST /api/personal-models/{id}/rollback", R"({"id":1})"},
    {"POST /api/training/start-job",
     R"({"model":"MODEL","dataset_version":1,"hyperparameters":{"n_epochs":1,"learning_rate":0.0001,"rank":4,"max_steps":2},"trainer":"local"})"},
    {"POST /api/training/plan", R"({"model":"MODEL","dataset_version":1,"hyperparameters":{"n_epochs":2,"batch_size":4}})"},
    {"POST /api/training/deploy", R"({"job_id":1,"force":true})"},
    {"POST /api/training/export-data",
     R"({"min_score":0.5,"min_examples":1,"model":"MODEL","since":"2024-01-01","redact_pii":true,"validation":0.1,"allow_small":true})"},
    {"PUT /api/training/remote", R"({"trainer":"openai","base_url":"https://api.openai.com/v1","api_key":"sk-test"})"},
    {"PATCH /api/conversations/{id}", R"({"training_opt_in":true})"},
    {"POST /api/conversations/{id}/messages/{message_id}/feedback",
     R"({"thumbs":"up","rating":4,"comment":"good","corrected_answer":"better","reason":"style"})"},
    {"POST /api/conversations/{id}/messages/{message_id}/feedback", R"({"thumbs":-1})"},
    {"PUT /api/settings", R"({"store_conversations":true,"training_opt_in":false,"route":"desktop-then-local"})"},
    {"POST /api/desktop/register", R"({"name":"laptop"})"},
    {"POST /api/training/jobs/{id}/cancel", ""},
    {"POST /v1/fine_tuning/jobs/{id}/cancel", ""},
    {"POST /api/desktop/agents/{id}/models", R"({"model":"qwen2.5:0.5b"})"},
    {"POST /api/desktop/inference", R"({"model":"MODEL","messages":[{"role":"user","content":"hi"}]})"},
    {"POST /v1/fine_tuning/jobs",
     R"({"model":"MODEL","training_file":"file-1","validation_file":"file-2","suffix":"mine","seed":4,"hyperparameters":{"n_epochs":1,"batch_size":"auto","learning_rate_multiplier":0.5},"method":{"type":"supervised","supervised":{"hyperparameters":{"n_epochs":1}}}})"},
};

// The only 503s that are not failures: route pattern -> a text the message must hold, each with
// its reason. Every other status of 500 or more fails the run.
const std::map<std::string, std::string> kAllowed503 = {
    // A pull whose source cannot be reached says so (the server is fine, the source is not). The
    // fuzzer points every download at a closed loopback port, so a pull that gets as far as
    // fetching ends here.
    {"POST /api/pull", "cannot reach"},
    // Installing on or removing from a desktop agent that is offline: the agent, not the
    // request, is unavailable, and the same request succeeds once it reconnects (desktop_hub.h).
    {"POST /api/desktop/agents/{id}/models", "is not connected"},
    {"DELETE /api/desktop/agents/{id}/models/{name}", "is not connected"},
};

const std::vector<std::string> kQueryKeys = {"limit", "after", "ctx", "job_id", "min_score",
                                             "purpose", "q", "offset"};
const std::vector<std::string> kQueryValues = {
    "5", "0", "-1", "1e999", "abc", "%ZZ", "%C3", "%00", "99999999999999999999", "1.5", "",
    "fine-tune", "%2e%2e%2f", std::string(3000, '9')};

struct Request {
  std::string method, target, content_type, body;
};

Request split(const std::string& input) {
  Request r;
  const auto nl1 = input.find('\n');
  const std::string first = input.substr(0, nl1);
  const auto sp = first.find(' ');
  r.method = first.substr(0, sp);
  r.target = sp == std::string::npos ? "/" : first.substr(sp + 1);
  if (nl1 == std::string::npos) return r;
  const auto nl2 = input.find('\n', nl1 + 1);
  r.content_type = input.substr(nl1 + 1, nl2 == std::string::npos ? std::string::npos : nl2 - nl1 - 1);
  if (nl2 != std::string::npos) r.body = input.substr(nl2 + 1);
  return r;
}

std::string join(const Request& r) {
  return r.method + " " + r.target + "\n" + r.content_type + "\n" + r.body;
}

std::string multipart_body(const std::string& purpose, const std::string& content) {
  return std::string("--") + kBoundary + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\n" +
         purpose + "\r\n--" + kBoundary +
         "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"train.jsonl\"\r\n"
         "Content-Type: application/jsonl\r\n\r\n" +
         content + "\r\n--" + kBoundary + "--\r\n";
}

class ApiTarget : public Target {
 public:
  std::string name() const override { return "api"; }

  void setup() override {
    World& w = World::get();
    model_ = w.model.empty() ? "no-such-model" : w.model;
    for (const auto& r : w.router().routes()) routes_.push_back(r);
    // Objects to point path parameters at: a conversation (from a chat), an agent, a file, a
    // fine-tuning job. Whatever cannot be made is simply not in the pool.
    const std::string chat =
        R"({"model":")" + model_ + R"(","messages":[{"role":"user","content":"hello"}],"stream":false,"options":{"num_predict":2}})";
    call({"POST", "/api/chat", "application/json", chat});
    remember_ids(call({"GET", "/api/conversations", "", ""}).body);
    remember_ids(call({"POST", "/api/desktop/register", "application/json", R"({"name":"fuzz"})"}).body);
    const std::string line =
        R"({"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}]})";
    std::string lines;
    for (int i = 0; i < 12; ++i) lines += line + "\n";
    remember_ids(call({"POST", "/v1/files", std::string("multipart/form-data; boundary=") + kBoundary,
                       multipart_body("fine-tune", lines)})
                     .body);
    remember_ids(call({"GET", "/api/personal-models", "", ""}).body);
    for (const char* generic : {"1", "2", "0", "-1", "abc", "99999999999999999999", "..", "%2F",
                                "tiny", "tiny:latest", "file-1", "ftjob-1", "agt_unknown"})
      ids_.insert(generic);
    ids_.insert(std::string(5000, 'a'));
  }

  std::vector<std::string> seeds() override {
    std::vector<std::string> out;
    for (const auto& r : routes_) {
      if (r.path == "/" || r.path.starts_with("/assets") || r.path == "/metrics") continue;
      const std::string key = r.method + " " + r.path;
      std::vector<std::string> bodies;
      for (auto [it, end] = kBodies.equal_range(key); it != end; ++it) bodies.push_back(it->second);
      if (r.upload) {
        bodies.push_back(multipart_body("fine-tune", R"({"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}]})" "\n"));
        bodies.push_back(multipart_body("batch", "x"));
      }
      if (bodies.empty()) {
        if (r.method == "GET" || r.method == "DELETE") {
          bodies.push_back("");
        } else {
          bodies.push_back("{}");
          unseeded_.push_back(key);
        }
      }
      for (std::string body : bodies) {
        for (auto at = body.find("MODEL"); at != std::string::npos; at = body.find("MODEL", at))
          body.replace(at, 5, model_);
        const std::string type = r.upload ? std::string("multipart/form-data; boundary=") + kBoundary
                                          : std::string(body.empty() ? "" : "application/json");
        out.push_back(join({r.method, r.path, type, body}));
      }
    }
    return out;
  }

  std::string mutate(const std::string& seed, Rng& rng) override {
    Request r = split(seed);
    plain_ = r.target.find('{') == std::string::npos;
    // Path parameters: a known object's id, or a hostile one.
    for (auto open = r.target.find('{'); open != std::string::npos; open = r.target.find('{')) {
      const auto close = r.target.find('}', open);
      if (close == std::string::npos) break;
      auto it = ids_.begin();
      std::advance(it, static_cast<long>(rng.below(ids_.size())));
      r.target.replace(open, close - open + 1, rng.one_in(8) ? mutate_bytes(*it, rng) : *it);
    }
    if (rng.one_in(3)) {
      plain_ = false;
      r.target += r.target.find('?') == std::string::npos ? "?" : "&";
      r.target += rng.pick(kQueryKeys) + "=" + rng.pick(kQueryValues);
    }
    changed_key_.clear();
    if (r.content_type.starts_with("multipart/")) {
      if (rng.one_in(4))
        r.content_type = mutate_bytes(r.content_type, rng);
      else
        r.body = mutate_bytes(r.body, rng);
    } else if (!r.body.empty() || rng.one_in(4)) {
      if (r.body.empty()) r.body = "{}";
      r.body = rng.one_in(4) ? mutate_bytes(r.body, rng) : mutate_json(r.body, rng, &changed_key_);
    }
    if (rng.one_in(40)) {
      plain_ = false;
      r.content_type = rng.one_in(2) ? "text/plain" : "";
    }
    return join(r);
  }

  Outcome run(const std::string& input, Rng&) override {
    // The member a JSON mutation changed, when nothing else was changed (path, query, type).
    const std::string changed = std::move(changed_key_);
    changed_key_.clear();
    const bool plain = plain_;
    plain_ = false;
    Request r = split(input);
    const Answer a = call(r);
    const std::string path = r.target.substr(0, r.target.find_first_of("?#"));
    Outcome o;
    o.label = std::to_string(a.status);
    ++statuses_[r.method + " " + pattern_of(r.method, path)][a.status];
    const std::string route = r.method + " " + pattern_of(r.method, path);
    const auto allowed = kAllowed503.find(route);
    const bool excused = a.status == 503 && allowed != kAllowed503.end() &&
                         a.body.find(allowed->second) != std::string::npos;
    if (excused) ++excused_;
    if (a.status >= 500 && !excused) {
      o.failure = r.method + " " + r.target.substr(0, 200) + " answered " + std::to_string(a.status) +
                  ": " + a.body.substr(0, 300);
    } else if (a.status >= 400 && a.status < 500) {
      std::string message;
      if (!error_message_of(a.body, &message))
        o.failure = r.method + " " + r.target.substr(0, 200) + " answered " + std::to_string(a.status) +
                    " without a JSON error message: " + a.body.substr(0, 300);
      else if (a.status == 400 && !changed.empty() && plain && message.find(changed) == std::string::npos) {
        ++unnamed_;
        if (unnamed_examples_.size() < 60)
          unnamed_examples_.push_back(r.method + " " + path + " changed '" + changed.substr(0, 40) +
                                      "': " + message.substr(0, 160));
      }
      if (a.status == 400 && !changed.empty() && plain) ++changed_400_;
    }
    // A mutated PUT, DELETE or copy may rename or remove the installed model: it comes back,
    // so that chats keep reaching the engine.
    if (r.method != "GET") World::get().ensure_model();
    return o;
  }

  std::vector<std::string> report() override {
    std::vector<std::string> out;
    out.push_back(std::to_string(routes_.size()) + " routes; statuses by route:");
    for (const auto& [route, counts] : statuses_) {
      std::string line = "  " + route + ":";
      for (const auto& [status, n] : counts) line += " " + std::to_string(status) + "x" + std::to_string(n);
      out.push_back(line);
    }
    out.push_back("503s excused by kAllowed503: " + std::to_string(excused_) +
                  "; streams still open after a second, then cancelled: " +
                  std::to_string(streams_left_open_));
    for (const auto& key : unseeded_) out.push_back("no seed body (fuzzed from {}): " + key);
    out.push_back("400 answers to a changed member: " + std::to_string(changed_400_) + ", of which " +
                  std::to_string(unnamed_) + " do not name it");
    for (const auto& e : unnamed_examples_) out.push_back("  " + e);
    return out;
  }

 private:
  struct Answer {
    int status = 0;
    std::string body;
  };

  Answer call(const Request& in) {
    server::Request req;
    req.method = in.method;
    req.target = in.target;
    req.body = in.body;
    req.content_type = in.content_type;
    if (!in.content_type.empty()) req.headers.emplace_back("content-type", in.content_type);
    const server::Response r = World::get().router().handle(req);
    if (!r.stream) return {r.status, r.body};
    Answer a;
    // A stream that has begun may go on for as long as the client listens (a job's events follow
    // the job): once its head is there, a second without its end is enough; it is then cancelled,
    // as a client that goes away cancels it. A head that never comes is a hang.
    std::chrono::steady_clock::time_point head_at{};
    for (;;) {
      auto t = r.stream->take();
      if (t.has_head) {
        a.status = t.status;
        head_at = std::chrono::steady_clock::now();
      }
      if (a.body.size() < (1u << 20)) a.body += t.data;
      if (t.finished) break;
      if (a.status != 0 && std::chrono::steady_clock::now() - head_at > std::chrono::seconds(1)) {
        r.stream->cancel();
        ++streams_left_open_;
        break;
      }
      if (t.data.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return a;
  }

  // The route pattern a path matched, for the figures.
  std::string pattern_of(const std::string& method, const std::string& path) const {
    const auto segments = [](std::string_view p) {
      std::vector<std::string_view> out;
      while (!p.empty()) {
        p.remove_prefix(1);
        const auto slash = p.find('/');
        out.push_back(p.substr(0, slash));
        if (slash == std::string_view::npos) break;
        p.remove_prefix(slash);
      }
      return out;
    };
    const auto have = segments(path);
    for (const auto& r : routes_) {
      if (r.method != method) continue;
      const auto want = segments(r.path);
      if (want.size() != have.size()) continue;
      bool same = true;
      for (std::size_t i = 0; i < want.size() && same; ++i)
        same = (want[i].starts_with("{") && !have[i].empty()) || want[i] == have[i];
      if (same) return r.path;
    }
    return "(no route)";
  }

  void remember_ids(const std::string& body) {
    try {
      const json::value v = json::parse(body);
      std::vector<const json::value*> todo = {&v};
      while (!todo.empty()) {
        const json::value* x = todo.back();
        todo.pop_back();
        if (x->is_object()) {
          for (const auto& kv : x->as_object()) {
            const std::string_view k = kv.key();
            if ((k == "id" || k == "agent_id" || k.ends_with("_id")) && kv.value().is_int64())
              ids_.insert(std::to_string(kv.value().as_int64()));
            else if ((k == "id" || k == "agent_id") && kv.value().is_string())
              ids_.insert(std::string(kv.value().as_string()));
            todo.push_back(&kv.value());
          }
        } else if (x->is_array()) {
          for (const auto& e : x->as_array()) todo.push_back(&e);
        }
      }
    } catch (const std::exception&) {
    }
  }

  std::string model_;
  std::vector<server::Router::RouteInfo> routes_;
  std::set<std::string> ids_;
  std::string changed_key_;
  bool plain_ = false;
  std::uint64_t streams_left_open_ = 0;
  std::uint64_t excused_ = 0;
  std::map<std::string, std::map<int, std::uint64_t>> statuses_;
  std::vector<std::string> unseeded_;
  std::uint64_t unnamed_ = 0, changed_400_ = 0;
  std::vector<std::string> unnamed_examples_;
};

}  // namespace

std::unique_ptr<Target> make_api_target() { return std::make_unique<ApiTarget>(); }

}  // namespace hearth::fuzz
