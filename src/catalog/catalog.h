// hearth_catalog: the curated model catalog and model references (DESIGN.md §2).
//
// The catalog is src/catalog/catalog.json, compiled into the binary. A user file at
// HEARTH_HOME/catalog.json, when present, adds entries in the same format; an entry whose id is
// already in the catalog replaces that entry. A broken user file is an Error(corrupt_file) that
// names the file and what is wrong.
//
// File format (version 1): {"version": 1, "models": [MODEL...]}, where MODEL is
//   id            "fast-assistant" (lower-case letters, digits, '.', '-', '_'; no '/' or ':')
//   name, source_model, description, specialty, license    text
//   use_cases     ["chat", ...]
//   parameters    parameter count;   architecture   GGUF general.architecture ("llama")
//   context_length, layers, heads, kv_heads, head_dim    the hyperparameters the fit needs
//   sliding_window, sliding_window_pattern  (optional, gemma3) the window of the local layers and
//                 their period (a layer is local when layer % pattern < pattern - 1), which keep
//                 only the window in the KV cache
//   requirements  {"ram_gb", "vram_gb", "disk_gb" (GB = 2^30 bytes), "gpu": none | optional |
//                  recommended | required}
//   quality, speed  1..10;   group  "system" | "starter" | "user";   starter  true for the one
//                  model `make serve` pulls first
//   default_tag   the tag a bare name means (normally "q4_k_m")
//   variants      [{tag, quantization, repo ("owner/name" on Hugging Face), file, size_bytes,
//                   size_estimated (size rounded or computed, not the exact byte count),
//                   sha256 (hex, optional: usually unknown)}]
// Required: id, context_length, layers, kv_heads, head_dim and at least one variant with tag,
// repo, file and size_bytes; everything else has a default.
//
// Sizes are for planning (fit, free disk, progress); a downloader should trust the server's
// Content-Length and the digest it computes over the catalog's size.
//
// Model references, as users type them (`hearth pull REF`, `hearth run REF`):
//   NAME[:TAG]                     fast-assistant, fast-assistant:q8_0 (tag defaults to q4_k_m;
//                                  both are case-insensitive and stored lower-case)
//   hf://OWNER/REPO/PATH.gguf      a file in a Hugging Face repository (main branch)
//   https://... or http://...      a direct download URL
//   a path to an existing file     anything containing '/' or ending in .gguf
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "hardware/hardware.h"

namespace hearth::catalog {

constexpr std::string_view kDefaultTag = "q4_k_m";
constexpr uint32_t kDefaultContext = 8192;  // context the catalog's verdicts assume by default

struct Variant {
  std::string tag;           // "q4_k_m"
  std::string quantization;  // "Q4_K_M"
  std::string repo;          // "bartowski/Llama-3.2-3B-Instruct-GGUF"
  std::string file;          // "Llama-3.2-3B-Instruct-Q4_K_M.gguf"
  uint64_t size_bytes = 0;
  bool size_estimated = false;
  std::string sha256;  // lower-case hex, or empty when unknown
};

struct Model {
  std::string id;
  std::string name;
  std::string source_model;  // the original model's Hugging Face id
  std::string description;
  std::string specialty;
  std::vector<std::string> use_cases;
  uint64_t parameters = 0;
  std::string architecture;
  uint32_t context_length = 0;
  uint32_t layers = 0, heads = 0, kv_heads = 0, head_dim = 0;
  uint32_t sliding_window = 0, sliding_window_pattern = 0;  // 0: no local layers
  std::string license;
  hardware::Requirements requirements;
  int quality = 5, speed = 5;  // 1..10
  std::string group = "user";  // "system", "starter" or "user"
  bool starter = false;
  std::string default_tag = std::string(kDefaultTag);
  std::vector<Variant> variants;

  const Variant* find_variant(std::string_view tag) const;  // nullptr when absent
  const Variant& default_variant() const;
  hardware::ModelShape shape(const Variant& variant) const;
};

class Catalog {
 public:
  // The compiled-in catalog.
  static Catalog builtin();
  // The compiled-in catalog plus HEARTH_HOME/catalog.json when it exists.
  static Catalog load();
  // The compiled-in catalog plus `user_file` when it exists.
  static Catalog load(const std::filesystem::path& user_file);
  // Parses catalog JSON; Error(corrupt_file) starting with `source` on any problem.
  static Catalog parse(std::string_view json_text, const std::string& source);

  // Adds `other`'s models; one with an id already here replaces it in place.
  void merge(const Catalog& other);

  const std::vector<Model>& models() const { return models_; }
  const Model* find(std::string_view id) const;  // nullptr when absent
  // The model `make serve` starts with (the first flagged starter). Asserts one exists.
  const Model& starter() const;

 private:
  std::vector<Model> models_;
};

// --- references ---

struct NamedRef {  // NAME[:TAG]: a catalog id or an installed model's name
  std::string name;
  std::string tag;         // lower-case; kDefaultTag when none was given
  bool tag_given = false;  // whether the text had ":TAG"
};
struct HuggingFaceRef {  // hf://OWNER/REPO/PATH
  std::string repo;      // "OWNER/REPO"
  std::string file;      // path inside the repository, may contain '/'
};
struct UrlRef {
  std::string url;
};
struct LocalFileRef {
  std::filesystem::path path;  // absolute
};
using ModelReference = std::variant<NamedRef, HuggingFaceRef, UrlRef, LocalFileRef>;

// Error(invalid_input) saying what was expected for malformed text; Error(not_found) for a path
// that does not exist or is not a regular file.
ModelReference parse_reference(std::string_view text);
// Whether parse_reference reads `text` as a path of this machine (it has a '/', ends in .gguf
// in any case, or starts with '~' or '.'), decided on the text alone: nothing on disk is looked
// at. False for hf://, http(s):// and other schemes (which parse_reference refuses).
bool names_local_file(std::string_view text);

// Back to text: "fast-assistant:q8_0", "hf://owner/repo/file.gguf", the URL or the path.
std::string to_string(const ModelReference& reference);

// Where to download a model from.
struct Download {
  std::string url;
  std::string file_name;    // the last path segment, for display
  uint64_t size_bytes = 0;  // 0 when unknown
  bool size_estimated = true;
  std::string sha256;  // empty when unknown
};

// "https://huggingface.co/<repo>/resolve/main/<file>".
std::string huggingface_url(std::string_view repo, std::string_view file);

// A catalog name: Error(not_found) naming the known ids (or the model's tags).
Download resolve(const Catalog& catalog, const NamedRef& reference);
Download resolve(const HuggingFaceRef& reference);

// --- fit ---

struct ModelFit {
  const Model* model = nullptr;
  const Variant* variant = nullptr;
  uint32_t n_ctx = 0;  // the context the estimate assumes
  hardware::FitResult fit;
};

// One variant at min(n_ctx, the model's context length).
ModelFit assess(const hardware::MachineInfo& machine, const Model& model, const Variant& variant,
                uint32_t n_ctx = kDefaultContext);
// Every model's default variant, in catalog order.
std::vector<ModelFit> assess_all(const hardware::MachineInfo& machine, const Catalog& catalog,
                                 uint32_t n_ctx = kDefaultContext);

struct Recommendation {
  std::string use_case;
  const ModelFit* choice = nullptr;  // points into the assess_all() result; nullptr: none fits
};
// For each use case (in first-seen order), the fitting model with the best quality, then speed;
// a tight fit ranks after every comfortable one.
std::vector<Recommendation> recommend(const std::vector<ModelFit>& fits);

}  // namespace hearth::catalog
