// `hearth catalog [--fits] [--json] [--ctx N]`: the curated models (built in, plus
// HEARTH_HOME/catalog.json), each with its default download's size and a verdict for this machine
// (fits_gpu, fits_partial_gpu, fits_cpu, tight, will_not_fit) with the reasons, then the best
// fitting model per use case. --fits lists only models that fit; --json prints the same as one
// JSON object: {context_length, machine, models: [...], recommendations: [...]}.
#include <boost/json.hpp>

#include <cinttypes>
#include <cstdio>
#include <memory>
#include <string>

#include "catalog/catalog.h"
#include "cli/commands.h"
#include "core/json_text.h"
#include "hardware/hardware.h"

namespace hearth::cli {
namespace {

using hardware::format_bytes;
namespace json = boost::json;

struct CatalogOptions {
  bool fits_only = false;
  bool json = false;
  uint32_t n_ctx = catalog::kDefaultContext;
};

std::string parameter_count(uint64_t n) {
  char buf[32];
  if (n >= 1'000'000'000)
    std::snprintf(buf, sizeof buf, "%.1fB", static_cast<double>(n) / 1e9);
  else
    std::snprintf(buf, sizeof buf, "%.0fM", static_cast<double>(n) / 1e6);
  return buf;
}

std::string machine_line(const hardware::MachineInfo& m) {
  // CPU-type Vulkan devices (lavapipe) have no memory of their own: the fit leaves them out.
  std::string gpus;
  for (const auto& g : m.gpus)
    if (!g.cpu_device)
      gpus += (gpus.empty() ? "" : ", ") + g.name + " (" + format_bytes(g.vram_free) + " free)";
  if (gpus.empty()) gpus = "no GPU";
  return format_bytes(m.ram_total) + " RAM (" + format_bytes(m.ram_available) + " available), " +
         gpus + ", " + format_bytes(m.disk_free) + " free disk";
}

void print_text(const hardware::MachineInfo& machine, const std::vector<catalog::ModelFit>& fits,
                const CatalogOptions& options) {
  std::printf("hearth catalog: verdicts on this machine for a context of %u tokens\n",
              options.n_ctx);
  std::printf("(%s)\n\n", machine_line(machine).c_str());
  std::printf("%-24s %-8s %-9s %-7s %-5s %s\n", "MODEL", "TAG", "SIZE", "PARAMS", "Q/S", "VERDICT");
  size_t shown = 0;
  for (const auto& f : fits) {
    if (options.fits_only && !hardware::fits(f.fit.verdict)) continue;
    ++shown;
    const auto& m = *f.model;
    std::string size = format_bytes(f.variant->size_bytes);
    if (f.variant->size_estimated) size = "~" + size;
    std::printf("%-24s %-8s %-9s %-7s %2d/%-2d %s%s\n", m.id.c_str(), f.variant->tag.c_str(),
                size.c_str(), parameter_count(m.parameters).c_str(), m.quality, m.speed,
                std::string(hardware::verdict_name(f.fit.verdict)).c_str(),
                m.starter ? "  (starter)" : "");
    std::printf("    %s: %s\n", m.name.c_str(), m.specialty.c_str());
    for (const auto& reason : f.fit.reasons) std::printf("    - %s\n", reason.c_str());
  }
  if (shown == 0) std::printf("(no model in the catalog fits this machine)\n");
  std::printf("\nRecommended for this machine, per use case:\n");
  for (const auto& r : catalog::recommend(fits)) {
    if (r.choice == nullptr)
      std::printf("  %-28s (nothing in the catalog fits)\n", r.use_case.c_str());
    else
      std::printf("  %-28s %s (%s)\n", r.use_case.c_str(), r.choice->model->id.c_str(),
                  std::string(hardware::verdict_name(r.choice->fit.verdict)).c_str());
  }
  std::printf("\nPull one with `hearth pull NAME[:TAG]`; sizes marked ~ are approximate.\n");
}

json::array strings(const std::vector<std::string>& list) {
  json::array out;
  for (const auto& s : list) out.emplace_back(s);
  return out;
}

json::object variant_json(const catalog::Variant& v) {
  return {{"tag", v.tag},
          {"quantization", v.quantization},
          {"repo", v.repo},
          {"file", v.file},
          {"url", catalog::huggingface_url(v.repo, v.file)},
          {"size_bytes", v.size_bytes},
          {"size_estimated", v.size_estimated},
          {"sha256", v.sha256.empty() ? json::value() : json::value(v.sha256)}};
}

void print_json(const hardware::MachineInfo& machine, const std::vector<catalog::ModelFit>& fits,
                const CatalogOptions& options) {
  json::array models;
  for (const auto& f : fits) {
    if (options.fits_only && !hardware::fits(f.fit.verdict)) continue;
    const auto& m = *f.model;
    json::array variants;
    for (const auto& v : m.variants) variants.push_back(variant_json(v));
    const auto& req = m.requirements;
    models.push_back(json::object{
        {"id", m.id},
        {"name", m.name},
        {"source_model", m.source_model},
        {"description", m.description},
        {"specialty", m.specialty},
        {"use_cases", strings(m.use_cases)},
        {"parameters", m.parameters},
        {"architecture", m.architecture},
        {"context_length", m.context_length},
        {"license", m.license},
        {"requirements", json::object{{"ram_bytes", req.min_ram},
                                      {"vram_bytes", req.min_vram},
                                      {"disk_bytes", req.min_disk},
                                      {"gpu", hardware::gpu_need_name(req.gpu)}}},
        {"quality", m.quality},
        {"speed", m.speed},
        {"group", m.group},
        {"starter", m.starter},
        {"default_tag", m.default_tag},
        {"tag", f.variant->tag},
        {"size_bytes", f.variant->size_bytes},
        {"size_estimated", f.variant->size_estimated},
        {"context_assumed", f.n_ctx},
        {"verdict", hardware::verdict_name(f.fit.verdict)},
        {"reasons", strings(f.fit.reasons)},
        {"gpu_layers", f.fit.gpu_layers},
        {"memory", json::object{{"weights_bytes", f.fit.memory.weights},
                                {"kv_cache_bytes", f.fit.memory.kv_cache},
                                {"overhead_bytes", f.fit.memory.overhead},
                                {"total_bytes", f.fit.memory.total}}},
        {"variants", std::move(variants)},
    });
  }
  json::array recommendations;
  for (const auto& r : catalog::recommend(fits))
    recommendations.push_back(json::object{
        {"use_case", r.use_case},
        {"model", r.choice == nullptr ? json::value() : json::value(r.choice->model->id)},
        {"verdict", r.choice == nullptr
                        ? json::value()
                        : json::value(hardware::verdict_name(r.choice->fit.verdict))}});
  const json::object out = {{"context_length", options.n_ctx},
                            {"machine", json::parse(hardware::to_json(machine))},
                            {"models", std::move(models)},
                            {"recommendations", std::move(recommendations)}};
  std::printf("%s\n", format_json(out, 2).c_str());
}

}  // namespace

void register_catalog(CLI::App& app) {
  auto options = std::make_shared<CatalogOptions>();
  auto* cmd = app.add_subcommand("catalog", "list the curated models and whether each fits here");
  cmd->add_flag("--fits", options->fits_only, "only the models that fit this machine");
  cmd->add_flag("--json", options->json, "print one JSON object");
  cmd->add_option("--ctx", options->n_ctx, "context length the estimates assume")
      ->check(CLI::Range(256u, 1u << 20));
  cmd->callback([options] {
    const catalog::Catalog cat = catalog::Catalog::load();
    const hardware::MachineInfo machine = hardware::probe();
    const auto fits = catalog::assess_all(machine, cat, options->n_ctx);
    if (options->json)
      print_json(machine, fits, *options);
    else
      print_text(machine, fits, *options);
  });
}

}  // namespace hearth::cli
