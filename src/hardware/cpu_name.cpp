// CPUID decoding and the table of known microarchitectures (cpu_name.h).
#include "hardware/cpu_name.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include <cstring>
#include <fstream>
#include <sstream>

#include "hardware/hardware.h"

namespace hearth::hardware {
namespace {

// Models of one family that share a microarchitecture: [first, last] inclusive.
struct ModelRange {
  unsigned first;
  unsigned last;
  const char* name;
};

template <size_t N>
const char* find_range(const ModelRange (&table)[N], unsigned model) {
  for (const ModelRange& r : table)
    if (model >= r.first && model <= r.last) return r.name;
  return nullptr;
}

// AMD families 0x17 (23) to 0x1A (26), by model ranges as AMD's revision guides list them.
constexpr ModelRange kAmdFamily23[] = {
    {0x08, 0x08, "Zen+"}, {0x18, 0x18, "Zen+"}, {0x00, 0x2F, "Zen"}, {0x30, 0xFF, "Zen 2"}};
constexpr ModelRange kAmdFamily25[] = {
    {0x00, 0x0F, "Zen 3"}, {0x10, 0x1F, "Zen 4"}, {0x20, 0x2F, "Zen 3"}, {0x40, 0x4F, "Zen 3+"},
    {0x50, 0x5F, "Zen 3"}, {0x60, 0x7F, "Zen 4"}, {0xA0, 0xAF, "Zen 4"}};
constexpr ModelRange kAmdFamily26[] = {
    {0x00, 0x2F, "Zen 5"}, {0x40, 0x4F, "Zen 5"}, {0x60, 0x7F, "Zen 5"}};
constexpr ModelRange kAmdFamily21[] = {{0x00, 0x01, "Bulldozer"},
                                       {0x02, 0x1F, "Piledriver"},
                                       {0x30, 0x3F, "Steamroller"},
                                       {0x60, 0x7F, "Excavator"}};
constexpr ModelRange kAmdFamily22[] = {{0x00, 0x0F, "Jaguar"}, {0x30, 0x3F, "Puma"}};

// Intel family 6, one entry per model number (the server and client parts with AVX2 or later,
// plus the older cores still met in the wild).
constexpr ModelRange kIntelFamily6[] = {{0x2A, 0x2A, "Sandy Bridge"},
                                        {0x2D, 0x2D, "Sandy Bridge"},
                                        {0x3A, 0x3A, "Ivy Bridge"},
                                        {0x3E, 0x3E, "Ivy Bridge"},
                                        {0x3C, 0x3C, "Haswell"},
                                        {0x3F, 0x3F, "Haswell"},
                                        {0x45, 0x46, "Haswell"},
                                        {0x3D, 0x3D, "Broadwell"},
                                        {0x47, 0x47, "Broadwell"},
                                        {0x4F, 0x4F, "Broadwell"},
                                        {0x56, 0x56, "Broadwell"},
                                        {0x4E, 0x4E, "Skylake"},
                                        {0x5E, 0x5E, "Skylake"},
                                        {0x57, 0x57, "Knights Landing"},
                                        {0x85, 0x85, "Knights Mill"},
                                        {0x5C, 0x5C, "Goldmont"},
                                        {0x5F, 0x5F, "Goldmont"},
                                        {0x7A, 0x7A, "Goldmont Plus"},
                                        {0x86, 0x86, "Tremont"},
                                        {0x96, 0x96, "Tremont"},
                                        {0x9C, 0x9C, "Tremont"},
                                        {0x8E, 0x8E, "Kaby Lake / Coffee Lake"},
                                        {0x9E, 0x9E, "Kaby Lake / Coffee Lake"},
                                        {0xA5, 0xA6, "Comet Lake"},
                                        {0x66, 0x66, "Cannon Lake"},
                                        {0x6A, 0x6A, "Ice Lake"},
                                        {0x6C, 0x6C, "Ice Lake"},
                                        {0x7D, 0x7E, "Ice Lake"},
                                        {0x8C, 0x8D, "Tiger Lake"},
                                        {0xA7, 0xA7, "Rocket Lake"},
                                        {0x8F, 0x8F, "Sapphire Rapids"},
                                        {0xCF, 0xCF, "Emerald Rapids"},
                                        {0xAD, 0xAE, "Granite Rapids"},
                                        {0xAF, 0xAF, "Sierra Forest"},
                                        {0x97, 0x97, "Alder Lake"},
                                        {0x9A, 0x9A, "Alder Lake"},
                                        {0xBE, 0xBE, "Alder Lake-N"},
                                        {0xB7, 0xB7, "Raptor Lake"},
                                        {0xBA, 0xBA, "Raptor Lake"},
                                        {0xBF, 0xBF, "Raptor Lake"},
                                        {0xAA, 0xAC, "Meteor Lake"},
                                        {0xC5, 0xC6, "Arrow Lake"},
                                        {0xBD, 0xBD, "Lunar Lake"}};

std::string intel_name(unsigned family, unsigned model, unsigned stepping) {
  if (family != 6) return "unknown";
  // One model number, three generations told apart by the stepping.
  if (model == 0x55) {
    if (stepping >= 10) return "Cooper Lake";
    if (stepping >= 5) return "Cascade Lake";
    return "Skylake-SP";
  }
  const char* name = find_range(kIntelFamily6, model);
  return name != nullptr ? name : "unknown";
}

std::string amd_name(unsigned family, unsigned model) {
  const char* name = nullptr;
  switch (family) {
    case 0x15:
      name = find_range(kAmdFamily21, model);
      break;
    case 0x16:
      name = find_range(kAmdFamily22, model);
      break;
    case 0x17:
      name = find_range(kAmdFamily23, model);
      break;
    case 0x19:
      name = find_range(kAmdFamily25, model);
      break;
    case 0x1A:
      name = find_range(kAmdFamily26, model);
      break;
    default:
      break;
  }
  return name != nullptr ? name : "unknown";
}

std::string read_cpuinfo_model() {
  std::ifstream in("/proc/cpuinfo", std::ios::binary);
  if (!in) return {};
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_cpuinfo(ss.str()).model;
}

}  // namespace

CpuId decode_cpu_signature(std::string_view vendor, uint32_t eax) {
  CpuId id;
  id.vendor = std::string(vendor);
  const unsigned base_family = (eax >> 8) & 0xF;
  const unsigned base_model = (eax >> 4) & 0xF;
  id.stepping = eax & 0xF;
  id.family = base_family == 0xF ? base_family + ((eax >> 20) & 0xFF) : base_family;
  id.model = base_family == 0x6 || base_family == 0xF ? (((eax >> 16) & 0xF) << 4) | base_model
                                                      : base_model;
  return id;
}

CpuId read_cpu_id() {
#if defined(__x86_64__) || defined(__i386__)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx)) return {};
  char vendor[13] = {};
  std::memcpy(vendor, &ebx, 4);  // the vendor string is spread over EBX, EDX, ECX in that order
  std::memcpy(vendor + 4, &edx, 4);
  std::memcpy(vendor + 8, &ecx, 4);
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return {};
  return decode_cpu_signature(vendor, eax);
#else
  return {};
#endif
}

std::string vendor_name(std::string_view vendor) {
  if (vendor == "AuthenticAMD") return "AMD";
  if (vendor == "GenuineIntel") return "Intel";
  if (vendor == "HygonGenuine") return "Hygon";
  if (vendor == "CentaurHauls" || vendor == "  Shanghai  ") return "Zhaoxin";
  return std::string(vendor);
}

std::string microarchitecture(const CpuId& id) {
  if (id.vendor == "GenuineIntel") return intel_name(id.family, id.model, id.stepping);
  if (id.vendor == "AuthenticAMD") return amd_name(id.family, id.model);
  // Hygon's Dhyana is AMD's first Zen under its own family number.
  if (id.vendor == "HygonGenuine" && id.family == 0x18) return "Zen (Dhyana)";
  return "unknown";
}

std::string describe_cpu(std::string_view model_name, const CpuId& id) {
  std::string out = model_name.empty() ? "(model unknown)" : std::string(model_name);
  if (id.vendor.empty()) return out;
  out += " (" + vendor_name(id.vendor) + " family " + std::to_string(id.family) + ", model " +
         std::to_string(id.model) + ", stepping " + std::to_string(id.stepping) + ", " +
         microarchitecture(id) + ")";
  return out;
}

std::string this_cpu_description() {
  return describe_cpu(read_cpuinfo_model(), read_cpu_id());
}

}  // namespace hearth::hardware
