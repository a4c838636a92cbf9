// Which CPU this is, from CPUID: vendor, family, model and stepping numbers, and the
// microarchitecture a small table of known families names ("Zen 5", "Sapphire Rapids"). Kernel
// choices and benchmark tables differ by microarchitecture, so `hearth hw` and `hearth bench`
// print it next to the marketing name from /proc/cpuinfo.
//
// The numbers are the "display" ones the vendors' manuals define and /proc/cpuinfo prints: the
// family is the base family plus the extended family when the base is 0xF; the model gets the
// extended model as its high nibble when the base family is 6 or 0xF.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace hearth::hardware {

struct CpuId {
  std::string vendor;  // CPUID leaf 0's 12 characters ("AuthenticAMD"); empty when not x86
  unsigned family = 0;
  unsigned model = 0;
  unsigned stepping = 0;
};

// Decodes leaf 1's EAX (the signature) for `vendor`. Pure, for tests.
CpuId decode_cpu_signature(std::string_view vendor, uint32_t eax);

// This CPU; an empty vendor on machines without CPUID.
CpuId read_cpu_id();

// "AMD", "Intel", "Hygon", "Zhaoxin", or the raw vendor string when not one of those; empty
// when the vendor is.
std::string vendor_name(std::string_view vendor);

// The microarchitecture for known family/model pairs ("Zen 5", "Sapphire Rapids",
// "Cascade Lake"), "unknown" otherwise (and for an empty vendor).
std::string microarchitecture(const CpuId& id);

// One line for tables: "<model name> (<vendor> family F, model M, stepping S, <uarch>)", e.g.
// "AMD EPYC (AMD family 26, model 2, stepping 1, Zen 5)". The model name alone when the
// vendor is unknown (no CPUID); "(model unknown)" stands in for an empty model name.
std::string describe_cpu(std::string_view model_name, const CpuId& id);

// describe_cpu() of this machine (model name from /proc/cpuinfo, numbers from CPUID).
std::string this_cpu_description();

}  // namespace hearth::hardware
