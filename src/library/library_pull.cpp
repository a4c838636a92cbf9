// The shared pull (see library_pull.h): planning, fit and disk checks, download through the
// store's Downloader, and the database row's life.
#include "library/library_pull.h"


#include <algorithm>
#include <cctype>
#include <chrono>

#include "core/config.h"
#include "core/error.h"
#include "core/json_text.h"
#include "core/log.h"
#include "core/paths.h"
#include "engine/gguf/gguf.h"
#include "engine/model/arch.h"
#include "library/pull_check.h"
#include "library/pull_guard.h"
#include "store/blob_stamp.h"
#include "store/download.h"
#include "store/url_policy.h"

namespace hearth::library {
namespace {

namespace fs = std::filesystem;

// The installed name a file name gives: its stem, lower-cased, with every run of characters a
// name may not hold turned into one '-'.
std::string name_from_file(std::string file) {
  if (auto q = file.find_first_of("?#"); q != std::string::npos) file.resize(q);
  if (auto slash = file.rfind('/'); slash != std::string::npos) file = file.substr(slash + 1);
  std::string lower;
  for (char c : file) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower.size() > 5 && lower.compare(lower.size() - 5, 5, ".gguf") == 0)
    lower.resize(lower.size() - 5);
  std::string out;
  for (char c : lower) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (ok)
      out += c;
    else if (!out.empty() && out.back() != '-')
      out += '-';
  }
  while (!out.empty() && !std::isalnum(static_cast<unsigned char>(out.front()))) out.erase(0, 1);
  while (!out.empty() && (out.back() == '-' || out.back() == '.')) out.pop_back();
  if (out.size() > 100) out.resize(100);
  return out.empty() ? "model" : out;
}

// catalog::huggingface_url with HEARTH_HF_ENDPOINT in place of https://huggingface.co.
std::string hf_url(std::string_view repo, std::string_view file) {
  std::string url = catalog::huggingface_url(repo, file);
  std::string endpoint = config::get("HEARTH_HF_ENDPOINT");
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  const std::string kDefault = "https://huggingface.co";
  if (!endpoint.empty() && endpoint != kDefault && url.rfind(kDefault, 0) == 0)
    url = endpoint + url.substr(kDefault.size());
  return url;
}

// The fit of a GGUF file on this machine, from its own hyperparameters; nullopt when they are
// missing (a file the engine cannot run anyway, which the post-pull check reports).
std::optional<hardware::FitResult> fit_of_file(const hardware::MachineInfo& machine,
                                               const gguf::File& file, uint32_t n_ctx,
                                               bool on_disk) {
  const model::Hparams hp = model::describe(file, model::DescribeMode::as_stored);
  const hardware::ModelShape shape{file.file_size(),
                                   static_cast<uint32_t>(hp.n_layer),
                                   static_cast<uint32_t>(hp.n_head_kv),
                                   static_cast<uint32_t>(hp.head_dim),
                                   static_cast<uint32_t>(hp.n_layer_swa()),
                                   static_cast<uint32_t>(hp.n_swa)};
  if (shape.n_layer == 0 || shape.n_head_kv == 0 || shape.head_dim == 0) return std::nullopt;
  if (hp.n_ctx_train > 0) n_ctx = std::min<uint32_t>(n_ctx, static_cast<uint32_t>(hp.n_ctx_train));
  hardware::FitOptions options;
  options.n_ctx = n_ctx;
  options.already_on_disk = on_disk;
  return hardware::assess_fit(machine, shape, {}, options);
}

std::string join_reasons(const std::vector<std::string>& reasons) {
  std::string out;
  for (const auto& r : reasons) out += (out.empty() ? "" : "; ") + r;
  return out;
}

void say(const PullHooks& hooks, const std::string& line) {
  if (hooks.note) hooks.note(line);
}

void emit(const PullHooks& hooks, std::string status, std::string digest = {},
          uint64_t total = 0, uint64_t completed = 0) {
  if (hooks.event) hooks.event({std::move(status), std::move(digest), total, completed});
}

// Refuses (Error) a model that will not fit or a disk too full, unless forced; tells the verdict
// either way.
void check_fit(const PullPlan& plan, const std::optional<hardware::FitResult>& fit,
               const hardware::MachineInfo& machine, bool force, bool needs_disk,
               const PullHooks& hooks) {
  std::vector<std::string> problems;
  if (fit) {
    say(hooks, "fit: " + std::string(hardware::verdict_name(fit->verdict)));
    for (const auto& r : fit->reasons) say(hooks, "  - " + r);
    if (!hardware::fits(fit->verdict)) problems = fit->reasons;
  } else if (needs_disk && plan.size > 0 && machine.disk_free < plan.size) {
    problems.push_back("needs " + hardware::format_bytes(plan.size) + " of disk, " +
                       hardware::format_bytes(machine.disk_free) + " free at " +
                       machine.disk_path.string());
  }
  if (problems.empty()) return;
  if (force) {
    say(hooks, "warning: " + plan.full_name + " may not fit this machine (" +
                   join_reasons(problems) + "); pulling anyway (--force)");
    return;
  }
  throw Error(ErrorKind::out_of_memory,
              plan.full_name + " will not fit this machine: " + join_reasons(problems) +
                  "; pass --force to pull it anyway");
}

// Downloads the blob with progress and database updates; nullopt when cancelled.
std::optional<store::DownloadResult> download(const PullPlan& plan, const store::Store& store,
                                              LibraryDb& library, std::int64_t row_id,
                                              const PullHooks& hooks,
                                              std::shared_ptr<const store::AddressPolicy> policy) {
  paths::ensure_directory(store.blobs_dir());
  store::DownloadOptions download_options;
  download_options.address_policy = std::move(policy);
  store::Downloader downloader(store.blobs_dir(), download_options);
  using Clock = std::chrono::steady_clock;
  Clock::time_point last_db{};
  double last_percent = -1;
  bool verifying = false;
  const std::string digest = plan.sha256.empty() ? "" : "sha256:" + plan.sha256;
  // Ollama names the layer by its digest; when it is not known before the download, the name.
  const std::string pulling =
      "pulling " + (plan.sha256.empty() ? plan.full_name : plan.sha256.substr(0, 12));
  auto on_progress = [&](const store::Progress& p) {
    if (hooks.progress) hooks.progress(p);
    if (p.phase == store::Progress::Phase::downloading) {
      emit(hooks, pulling, digest, p.total_bytes, p.done_bytes);
      if (p.total_bytes == 0) return;
      const double percent = std::min(
          100.0, 100.0 * static_cast<double>(p.done_bytes) / static_cast<double>(p.total_bytes));
      const auto now = Clock::now();
      if (percent == last_percent || (now - last_db < std::chrono::seconds(1) && percent < 100))
        return;
      last_db = now;
      last_percent = percent;
      try {
        library.models().set_progress(row_id, percent);
      } catch (const std::exception& e) {
        spdlog::warn("database: cannot record the progress of {}: {}", plan.full_name, e.what());
      }
    } else if (!verifying) {
      verifying = true;
      emit(hooks, "verifying sha256 digest");
      try {
        library.advance(row_id, db::ModelStatus::verifying);
      } catch (const std::exception& e) {
        spdlog::warn("database: cannot record the progress of {}: {}", plan.full_name, e.what());
      }
    }
  };
  store::DownloadResult result =
      downloader.fetch({plan.url, plan.sha256}, on_progress, hooks.cancel);
  if (result.cancelled) return std::nullopt;
  return result;
}

}  // namespace

void drop_unused_blob(const store::Store& store, const std::string& digest) {
  store.drop_blob_if_unused(digest);  // looks through every user's names
}

PullPlan make_pull_plan(std::string_view text, const PullOptions& options,
                        const catalog::Catalog& cat, const hardware::MachineInfo* machine) {
  PullPlan plan;
  catalog::ModelReference ref = catalog::parse_reference(text);
  std::string default_name;
  if (auto* named = std::get_if<catalog::NamedRef>(&ref)) {
    catalog::Download d = catalog::resolve(cat, *named);  // not_found lists the catalog
    const catalog::Model& model = *cat.find(named->name);
    const catalog::Variant& variant =
        named->tag_given ? *model.find_variant(named->tag) : model.default_variant();
    plan.url = hf_url(variant.repo, variant.file);
    plan.sha256 = d.sha256;
    plan.size = d.size_bytes;
    plan.model_id = model.id;
    default_name = model.id + ":" + variant.tag;
    if (machine != nullptr) plan.fit = catalog::assess(*machine, model, variant, options.n_ctx);
  } else if (auto* hf = std::get_if<catalog::HuggingFaceRef>(&ref)) {
    plan.url = hf_url(hf->repo, hf->file);
    plan.model_id = catalog::to_string(ref);
    default_name = name_from_file(hf->file) + ":latest";
    for (const auto& m : cat.models())  // a catalog file gives its fit and digest
      for (const auto& v : m.variants)
        if (v.repo == hf->repo && v.file == hf->file) {
          if (machine != nullptr) plan.fit = catalog::assess(*machine, m, v, options.n_ctx);
          plan.sha256 = v.sha256;
          plan.size = v.size_bytes;
        }
  } else if (auto* url = std::get_if<catalog::UrlRef>(&ref)) {
    plan.url = url->url;
    plan.user_url = true;
    plan.model_id = url->url;
    default_name = name_from_file(url->url) + ":latest";
  } else {
    plan.local_file = std::get<catalog::LocalFileRef>(ref).path;
    plan.size = fs::file_size(plan.local_file);
    default_name = name_from_file(plan.local_file.filename().string()) + ":latest";
  }
  plan.full_name =
      options.name.empty() ? default_name : store::parse_model_name(options.name).full();
  store::parse_model_name(plan.full_name);  // a derived name is valid by construction; check
  // An import is known by its name: the API never shows where on the server's disk it came from.
  if (plan.is_local_file()) plan.model_id = plan.full_name;
  return plan;
}

namespace {

// pull_model without the last translation of its errors (pull_guard.h).
PullResult pull_model_as_asked(store::Store& store, LibraryDb& library, std::string_view ref,
                               const PullOptions& options, const PullHooks& hooks) {
  emit(hooks, "pulling manifest");
  const catalog::Catalog cat = catalog::Catalog::load();
  const hardware::MachineInfo machine = hardware::probe();
  PullPlan plan = make_pull_plan(ref, options, cat, &machine);
  const std::shared_ptr<const store::AddressPolicy> policy = pull_address_policy(plan, options);
  if (policy)  // before anything else, a model already installed from that URL included
    if (std::string why = store::host_refusal(plan.url, *policy); !why.empty())
      throw Error(ErrorKind::invalid_input, store::refused_message(plan.url, why));
  PullResult result;
  result.full_name = plan.full_name;

  // Already installed from the same place: nothing to fetch (and nothing to do once checked).
  const std::optional<store::Manifest> existing = store.find(plan.full_name);
  const std::string source =
      plan.url.empty() ? plan.local_file.lexically_normal().string() : plan.url;
  const bool same_source = existing && existing->source == source;
  if (same_source) {
    std::optional<db::PersonalModel> row;
    try {
      row = library.find(plan.full_name);
    } catch (const std::exception& e) {
      spdlog::warn("database: cannot read the status of {}: {}", plan.full_name, e.what());
    }
    if (row && row->status == db::ModelStatus::installed) {
      result.outcome = PullResult::Outcome::already_installed;
      result.manifest = *existing;
      result.row = row;
      result.performance_score = row->performance_score;
      emit(hooks, "success");
      return result;
    }
  }

  // Fit and disk, before anything is fetched.
  std::optional<gguf::File> local_gguf;
  std::optional<hardware::FitResult> fit;
  if (plan.fit) fit = plan.fit->fit;
  bool needs_disk = !same_source;
  if (same_source) {
    // nothing to fetch
  } else if (plan.is_local_file()) {
    try {
      local_gguf.emplace(gguf::File::open(plan.local_file));
    } catch (const Error& e) {
      const ErrorKind kind = e.kind() == ErrorKind::not_found || e.kind() == ErrorKind::io
                                 ? e.kind()
                                 : ErrorKind::invalid_input;
      // The reader's message may quote the file's bytes: only the owner's own command sees it.
      throw Error(kind, plan.local_file.string() + ": not a usable GGUF file" +
                            (options.through_api ? "" : std::string(": ") + e.what()));
    }
    needs_disk = true;  // an import is a copy (a reflink shares blocks, but cannot be promised)
    fit = fit_of_file(machine, *local_gguf, options.n_ctx, !needs_disk);
  } else if (plan.sha256.empty() || !fs::exists(store.blob_path(plan.sha256))) {
    if (auto size = store::check_url(plan.url, policy); size && plan.size == 0) plan.size = *size;
  }
  if (!same_source) check_fit(plan, fit, machine, options.force, needs_disk, hooks);

  const double size_gb = static_cast<double>(plan.size) / static_cast<double>(hardware::kGiB);
  db::PersonalModel row = library.begin_pull(plan.full_name, plan.model_id, size_gb, "");
  library.clear_failure(plan.full_name);
  if (hooks.row_ready) hooks.row_ready(row);

  store::Manifest manifest;
  try {
    library.advance(row.id, db::ModelStatus::downloading);
    if (same_source) {
      say(hooks, plan.full_name + " is already downloaded; checking it again");
      emit(hooks, "verifying sha256 digest");
      library.advance(row.id, db::ModelStatus::verifying);
      manifest = *existing;
    } else if (plan.is_local_file()) {
      say(hooks, "importing " + plan.local_file.string());
      local_gguf.reset();
      emit(hooks, "verifying sha256 digest");
      library.advance(row.id, db::ModelStatus::verifying);
      emit(hooks, "writing manifest");
      manifest = store.import_file(plan.local_file, plan.full_name);
    } else {
      say(hooks, "pulling " + plan.full_name + " from " + plan.url);
      auto fetched = download(plan, store, library, row.id, hooks, policy);
      if (!fetched) {
        result.outcome = PullResult::Outcome::cancelled;
        return result;  // the row stays downloading: the next pull resumes
      }
      library.advance(row.id, db::ModelStatus::verifying);
      try {
        gguf::File::open(fetched->blob_path);
      } catch (const Error& e) {
        drop_unused_blob(store, fetched->digest);
        // The reader's message names the blob and may quote its bytes (whatever the URL
        // answered): an API caller gets neither.
        spdlog::warn("pull of {}: the download is not a usable GGUF file: {}", plan.url, e.what());
        throw Error(ErrorKind::invalid_input,
                    plan.url + ": the download is not a usable GGUF model file" +
                        (options.through_api ? "" : std::string(": ") + e.what()));
      }
      emit(hooks, "writing manifest");
      store::Manifest m;
      const store::ModelName name = store::parse_model_name(plan.full_name);
      m.name = name.name;
      m.tag = name.tag;
      m.blobs.push_back({fetched->digest, fetched->size, "model"});
      m.source = plan.url;
      store.write(m);
      manifest = *store.find(plan.full_name);
    }
  } catch (const Error& e) {
    library.fail(row.id, plan.full_name, shown_pull_error(e, options).what());
    throw;
  }
  if (existing && !same_source)  // the name now points elsewhere: drop what only it used
    for (const auto& b : existing->blobs) drop_unused_blob(store, b.digest);

  fs::path blob;
  for (const auto& b : manifest.blobs)
    if (b.media_type == "model" && blob.empty()) blob = store.blob_path(b.digest);
  try {
    library.models().set_local_path(row.id, blob.string());
  } catch (const Error& e) {
    spdlog::warn("database: cannot record where {} lives: {}", plan.full_name, e.what());
  }
  // The post-pull check, for every caller: its speed becomes the row's performance score.
  if (hooks.checking) hooks.checking();
  say(hooks, "checking " + plan.full_name + ": loading it and generating a few tokens");
  emit(hooks, "checking the model");
  try {
    result.performance_score = check_pulled_model(blob).tokens_per_second;
  } catch (const Error& e) {
    const std::string message = std::string("the model does not load: ") + e.what();
    library.fail(row.id, plan.full_name, message);
    throw Error(e.kind(), plan.full_name + " was downloaded but " + message +
                              "; remove it with `hearth rm " + plan.full_name + "`");
  }
  // The score first: whoever sees the row installed (a dashboard polling it) sees its score.
  if (result.performance_score) library.set_performance_score(row.id, *result.performance_score);
  library.advance(row.id, db::ModelStatus::installed);
  library.audit("pull", plan.full_name,
                format_json(boost::json::object{{"reference", std::string(ref)}, {"source", manifest.source}}));
  emit(hooks, "success");
  result.outcome = PullResult::Outcome::installed;
  result.manifest = std::move(manifest);
  try {
    result.row = library.models().find(row.id);
  } catch (const std::exception& e) {
    spdlog::warn("database: cannot read the row of {}: {}", plan.full_name, e.what());
  }
  return result;
}

}  // namespace

PullResult pull_model(store::Store& store, LibraryDb& library, std::string_view ref,
                      const PullOptions& options, const PullHooks& hooks) {
  try {
    return pull_model_as_asked(store, library, ref, options, hooks);
  } catch (const Error& e) {
    if (!options.through_api) throw;
    throw shown_pull_error(e, options);
  } catch (const std::exception& e) {  // e.g. a filesystem_error, which names paths
    if (!options.through_api) throw;
    throw shown_pull_error(Error(ErrorKind::internal, e.what()), options);
  }
}

}  // namespace hearth::library
