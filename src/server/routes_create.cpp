// Ollama's POST /api/create, in the shape its current clients send (`ollama create`, ollama-js):
//
//   {"model": "me/helper",                     the new name, the caller's own (library.h)
//    "from": "tiny",                           an installed model of the caller's, or
//    "files": {"model.gguf": "sha256:..."},    one GGUF weights blob (POST /api/blobs first)
//    "adapters": {"a.gguf": "sha256:..."},     LoRA adapters (GGUF) applied over the weights
//    "template": "...", "system": "...",       stored; system is the default system prompt
//    "parameters": {"temperature": 0.2, ...},  default options (api/options.h), checked
//    "quantize": "q4_K_M",                     from F16/F32/BF16 weights (engine/quantize)
//    "license": "..." | ["...", ...],
//    "messages": [],                           refused when not empty (no stored history)
//    "stream": true}                           default true
//
// Streamed answer: NDJSON {"status": ...} lines ("using existing layer sha256:...",
// "quantizing F16 model to Q4_K_M", "creating new layer sha256:...", "writing manifest") ending
// with {"status": "success"}; with stream false, that last object alone. Everything a request can
// get wrong is checked before the answer starts, so those errors are a plain 4xx {"error"}
// naming the field (404 for a blob the caller may not use, 400 for the rest). The old API's "modelfile" (and "path") are refused, naming what to send.
//
// Blobs named in files/adapters must be usable by the caller (library.h, can_use_blob): one
// they uploaded or one their own models use; anyone else's digest answers as a missing blob.
// An adapter must be a LoRA adapter (engine/model/lora.h) for the weights' architecture whose
// every A/B pair fits a weight of the base (checked from the tensors' shapes, without loading).
// The template is stored and shown by /api/show; requests render with the model's own chat
// template (an Ollama Go template is not hearth's template language).
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/log.h"
#include "engine/gguf/gguf.h"
#include "engine/quantize/model_quantizer.h"
#include "server/api.h"
#include "server/json_util.h"
#include "server/response_stream.h"
#include "store/blob_upload.h"

namespace hearth::server {
namespace {

namespace fs = std::filesystem;

Error bad(const std::string& message) { return Error(ErrorKind::invalid_input, message); }

// What the request asks for, checked.
struct CreatePlan {
  std::int64_t user_id = 0;
  store::Manifest manifest;  // the new name's, its blobs those to reuse
  const quantize::Preset* preset = nullptr;
  bool stream = true;
};

store::BlobRef& weights_of(store::Manifest& m) {
  for (auto& b : m.blobs)
    if (b.media_type == "model") return b;
  throw Error(ErrorKind::corrupt_file, m.full_name() + ": its manifest names no weights");
}

// The blob named by `field` ("files.model.gguf"), if the caller may use it, opened as GGUF.
std::pair<store::BlobRef, gguf::File> usable_gguf(ApiContext& api, std::int64_t user,
                                                  const std::string& field, const json::value& v) {
  if (!v.is_string()) throw bad("field '" + field + "' must be a digest string \"sha256:<hex>\"");
  const std::string digest = store::normalize_digest(v.as_string(), "field '" + field + "'");
  if (!api.library.can_use_blob(user, digest))  // 404 alike for another user's and a missing one
    throw Error(ErrorKind::not_found, "field '" + field + "': blob " + digest +
                                          " not found; upload it first with POST /api/blobs/" + digest);
  const fs::path path = api.store.blob_path(digest);
  try {
    gguf::File file = gguf::File::open(path);
    return {store::BlobRef{digest, fs::file_size(path), "model"}, std::move(file)};
  } catch (const Error& e) {
    throw bad("field '" + field + "': blob " + digest + " is not a GGUF file hearth reads (" +
              public_message(e.what()) + ")");
  }
}

bool is_adapter(const gguf::File& f) { return f.get_string("general.type").value_or("") == "adapter"; }

// An adapter's A/B pairs against the base's weights (shapes only: engine/model/lora.h's rules).
void check_adapter_fits(const gguf::File& adapter, const gguf::File& base, const std::string& field) {
  if (!is_adapter(adapter) || adapter.get_string("adapter.type").value_or("") != "lora")
    throw bad("field '" + field + "' is not a LoRA adapter (general.type \"adapter\", "
              "adapter.type \"lora\")");
  const std::string arch = adapter.get_string("general.architecture").value_or("");
  const std::string base_arch = base.get_string("general.architecture").value_or("");
  if (arch != base_arch)
    throw bad("field '" + field + "': the adapter is for architecture '" + arch +
              "', the model is '" + base_arch + "'");
  int pairs = 0;
  for (const auto& t : adapter.tensors()) {
    const bool a = t.name.ends_with(".lora_a"), b = t.name.ends_with(".lora_b");
    if (!a && !b) continue;
    const std::string weight = t.name.substr(0, t.name.size() - 7);
    const gguf::TensorInfo* w = base.find_tensor(weight);
    if (w == nullptr || w->ne.size() < 2 || t.ne.size() < 2 ||
        (a ? t.ne[0] != w->ne[0] : t.ne[1] != w->ne[1]))
      throw bad("field '" + field + "': tensor " + t.name + " does not fit the model (" +
                (w == nullptr ? "it has no " + weight : "other shape than " + weight) + ")");
    pairs += a ? 1 : 0;
  }
  if (pairs == 0) throw bad("field '" + field + "': the adapter has no .lora_a/.lora_b tensors");
}

// Whether every tensor the quantizer would convert is F32, F16 or BF16.
bool is_float_source(const gguf::File& f) {
  using T = gguf::TensorType;
  for (const auto& t : f.tensors())
    if (t.ne.size() >= 2 && t.name.ends_with("weight") && t.type != T::f32 && t.type != T::f16 &&
        t.type != T::bf16)
      return false;
  return true;
}

std::string text_or_list(const json::value& v, const std::string& field) {
  if (v.is_string()) return std::string(v.as_string());
  std::string out;
  if (v.is_array()) {
    for (const auto& item : v.as_array()) {
      if (!item.is_string()) throw bad("field '" + field + "' must be a string or a list of strings");
      out += (out.empty() ? "" : "\n\n") + std::string(item.as_string());
    }
    return out;
  }
  throw bad("field '" + field + "' must be a string or a list of strings");
}

CreatePlan plan_create(ApiContext& api, const Request& request) {
  const json::object body = parse_body_object(request.body);
  for (const char* old : {"modelfile", "path"})
    if (body.contains(old))
      throw bad(std::string("field '") + old + "' belongs to the old create API, which hearth does "
                "not take: send \"from\" (an installed model) or \"files\" (a GGUF blob uploaded "
                "with POST /api/blobs/:digest), with \"adapters\", \"template\", \"system\" and "
                "\"parameters\" as fields");
  CreatePlan plan;
  plan.user_id = request.caller.user_id;
  const std::int64_t user = plan.user_id;
  const store::ModelName name = store::parse_model_name(req_string(body, "model"));
  plan.stream = opt_bool(body, "stream").value_or(true);
  const auto from = opt_string(body, "from");
  const json::object* files = opt_object(body, "files");
  if (from && files) throw bad("give either field 'from' or field 'files', not both");
  if (!from && !files)
    throw bad("field 'from' (an installed model) or field 'files' (a GGUF blob) is required");

  store::Manifest& m = plan.manifest;
  std::optional<gguf::File> weights;
  if (from) {
    const library::ResolvedModel base = api.library.resolve_installed(user, *from);
    m = base.manifest;
    m.base_model = base.name;
    weights.emplace(gguf::File::open(base.model_path));
  } else {
    if (files->size() != 1)
      throw bad("field 'files' must name exactly one GGUF file (hearth does not convert "
                "safetensors); it names " + std::to_string(files->size()));
    const json::key_value_pair& entry = *files->begin();
    const std::string field = "files." + std::string(entry.key());
    auto [ref, file] = usable_gguf(api, user, field, entry.value());
    if (is_adapter(file)) throw bad("field '" + field + "' is a LoRA adapter: name it in 'adapters'");
    if (!file.get_string("general.architecture"))
      throw bad("field '" + field + "' is no model: its GGUF has no general.architecture");
    m.blobs = {ref};
    weights.emplace(std::move(file));
  }
  m.name = name.name;
  m.tag = name.tag.empty() ? "latest" : name.tag;
  m.source.clear();
  m.created_at.clear();

  if (const json::object* adapters = opt_object(body, "adapters")) {
    for (const json::key_value_pair& entry : *adapters) {
      const std::string field = "adapters." + std::string(entry.key());
      auto [ref, file] = usable_gguf(api, user, field, entry.value());
      check_adapter_fits(file, *weights, field);
      ref.media_type = "adapter";
      bool have = false;
      for (const auto& b : m.blobs) have = have || b.digest == ref.digest;
      if (!have) m.blobs.push_back(ref);
    }
  }
  if (auto t = opt_string(body, "template")) m.template_text = *t;
  if (auto s = opt_string(body, "system")) m.system = *s;
  if (const json::value* l = body.if_contains("license"); l && !l->is_null())
    m.license = text_or_list(*l, "license");
  if (const json::object* p = opt_object(body, "parameters")) {
    try {
      m.parameters = api::overlay(m.parameters, api::read_options(*p, api::UnknownOptions::refuse));
    } catch (const Error& e) {
      throw bad(std::string("parameters: ") + e.what());
    }
  }
  if (const json::array* messages = opt_array(body, "messages"); messages && !messages->empty())
    throw bad("field 'messages' is not supported: hearth keeps no stored conversation with a "
              "model; send the messages with each chat instead");
  if (auto q = opt_string(body, "quantize"); q && !q->empty()) {
    plan.preset = quantize::find_preset(*q);
    if (plan.preset == nullptr)
      throw bad("field 'quantize': unknown type '" + *q + "'; hearth makes " +
                quantize::preset_names());
    if (!is_float_source(*weights))
      throw bad("field 'quantize': the weights are already quantized; quantize from an F16, "
                "BF16 or F32 model");
  }
  return plan;
}

// Runs on a library thread (never the I/O thread); answers through `out`.
void run_create(ApiContext& api, CreatePlan plan, const std::shared_ptr<ResponseStream>& out) {
  auto status = [&](const std::string& text) {
    if (!plan.stream) return;
    if (!out->started()) out->start(200, "application/x-ndjson");
    out->write(json_text(json::object{{"status", text}}) + "\n");
  };
  try {
    store::Manifest& m = plan.manifest;
    if (plan.preset != nullptr) {
      store::BlobRef& w = weights_of(m);
      const fs::path source = api.store.blob_path(w.digest);
      status("quantizing model to " + std::string(plan.preset->name));
      static std::atomic<unsigned> counter{0};
      const fs::path tmp = api.store.blobs_dir() / ("quantize-" + std::to_string(::getpid()) +
                                                    "-" + std::to_string(counter++) + ".tmp");
      try {
        quantize::quantize_file(source, tmp, *plan.preset);
        w = store::adopt_blob_file(api.store, tmp, "model");
      } catch (...) {
        std::error_code ec;
        fs::remove(tmp, ec);
        throw;
      }
      status("creating new layer " + w.digest);
    }
    for (const auto& b : m.blobs)
      if (plan.preset == nullptr || b.media_type != "model")
        status("using existing layer " + b.digest);
    status("writing manifest");
    api.library.install_created(plan.user_id, m);
    SPDLOG_INFO("user {} created {}", plan.user_id, m.full_name());
    if (!out->started()) {
      out->respond(json_response(json::object{{"status", "success"}}));
      return;
    }
    status("success");
    out->finish();
  } catch (const std::exception& e) {
    const auto* err = dynamic_cast<const Error*>(&e);
    const ErrorKind kind = err ? err->kind() : ErrorKind::internal;
    if (!err) SPDLOG_ERROR("create of {}: {}", plan.manifest.full_name(), e.what());
    if (out->started()) {
      out->write(json_text(json::object{{"error", public_message(e.what())}}) + "\n");
      out->finish();
    } else {
      out->respond(error_response("/api/create", status_for(kind), kind, e.what()));
    }
  }
}

}  // namespace

void add_create_routes(Router& router, ApiContext& api) {
  add_blob_routes(router, api);
  router.add("POST", "/api/create", [&api](const Request& r) {
    CreatePlan plan = plan_create(api, r);
    auto out = std::make_shared<ResponseStream>();
    api.library.run_in_background([&api, plan = std::move(plan), out](const std::function<bool()>&) {
      run_create(api, plan, out);
    });
    Response response;
    response.stream = out;
    return response;
  });
}

}  // namespace hearth::server
