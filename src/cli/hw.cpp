// `hearth hw [--json]`: what this machine has — CPU model and family (CPUID numbers and the
// microarchitecture), cores, SIMD features, RAM, free disk at HEARTH_HOME, OS and the Vulkan
// devices (name, vendor, kind, VRAM, subgroup size, fp16, int8 dot; free memory from NVML on
// NVIDIA cards; none is a normal answer). --json prints hardware::to_json().
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "hardware/hardware.h"

namespace hearth::cli {
namespace {

void print_machine(const hardware::MachineInfo& m) {
  using hardware::format_bytes;
  std::string simd;
  for (const auto& s : m.simd) simd += (simd.empty() ? "" : " ") + s;
  std::printf("CPU    %s\n", hardware::describe_cpu(m.cpu_model, m.cpu_id).c_str());
  std::printf("Cores  %u logical, %u physical\n", m.logical_cores, m.physical_cores);
  std::printf("SIMD   %s\n", simd.empty() ? "baseline only" : simd.c_str());
  std::printf("RAM    %s total, %s available\n", format_bytes(m.ram_total).c_str(),
              format_bytes(m.ram_available).c_str());
  std::printf("Disk   %s free at %s\n", format_bytes(m.disk_free).c_str(),
              m.disk_path.empty() ? "(unknown)" : m.disk_path.c_str());
  std::printf("OS     %s (%s, %s)\n", m.os_name.c_str(), m.kernel.c_str(), m.arch.c_str());
  if (m.gpus.empty()) {
    std::printf("GPUs   none (%s)\n", m.gpu_note.empty() ? "none found" : m.gpu_note.c_str());
    return;
  }
  std::printf("GPUs   %zu%s%s%s\n", m.gpus.size(), m.gpus.front().vulkan ? " (Vulkan)" : " (NVML)",
              m.gpu_driver.empty() ? "" : ", NVIDIA driver ", m.gpu_driver.c_str());
  for (const auto& g : m.gpus) {
    std::string free = g.free_measured ? ", " + format_bytes(g.vram_free) + " free" : "";
    if (!g.vulkan) {
      std::printf("  %u  %s: %s VRAM%s (no Vulkan device: not usable for GPU layers)\n", g.index,
                  g.name.c_str(), format_bytes(g.vram_total).c_str(), free.c_str());
      continue;
    }
    std::printf("  %u  %s [%s, %s]: %s %s%s, subgroup %u, fp16 %s, int8 dot %s%s\n", g.index,
                g.name.c_str(), g.vendor.c_str(), g.kind.c_str(),
                format_bytes(g.vram_total).c_str(), g.cpu_device ? "memory" : "VRAM",
                free.c_str(), g.subgroup_size, g.fp16 ? "yes" : "no", g.int8_dot ? "yes" : "no",
                g.cpu_device ? " (CPU-type: used with --gpu-layers all/N or HEARTH_VULKAN_CPU=1)"
                             : "");
  }
  if (!m.gpu_note.empty()) std::printf("       (%s)\n", m.gpu_note.c_str());
}

}  // namespace

void register_hw(CLI::App& app) {
  auto json = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("hw", "show this machine's cores, SIMD, RAM, disk, OS and GPUs");
  cmd->add_flag("--json", *json, "print one JSON object");
  cmd->callback([json] {
    const hardware::MachineInfo machine = hardware::probe();
    if (*json)
      std::printf("%s\n", hardware::to_json(machine).c_str());
    else
      print_machine(machine);
  });
}

}  // namespace hearth::cli
