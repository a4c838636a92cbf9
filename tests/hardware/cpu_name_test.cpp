// CPUID signatures of real parts decode to the numbers /proc/cpuinfo prints and the
// microarchitecture the vendors name; unknown ones say "unknown".
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "hardware/cpu_name.h"
#include "hardware/hardware.h"

namespace hearth::hardware {
namespace {

struct Known {
  const char* vendor;
  uint32_t eax;  // CPUID leaf 1 EAX
  unsigned family, model, stepping;
  const char* uarch;
};

TEST(CpuName, KnownSignaturesDecodeAndAreNamed) {
  const Known known[] = {
      {"AuthenticAMD", 0x00B00F21, 26, 2, 1, "Zen 5"},    // EPYC 9005 (Turin)
      {"AuthenticAMD", 0x00B40F40, 26, 68, 0, "Zen 5"},   // Ryzen 9000 (Granite Ridge)
      {"AuthenticAMD", 0x00A10F11, 25, 17, 1, "Zen 4"},   // EPYC 9004 (Genoa)
      {"AuthenticAMD", 0x00A60F12, 25, 97, 2, "Zen 4"},   // Ryzen 7000 (Raphael)
      {"AuthenticAMD", 0x00A00F11, 25, 1, 1, "Zen 3"},    // EPYC 7003 (Milan)
      {"AuthenticAMD", 0x00A40F41, 25, 68, 1, "Zen 3+"},  // Ryzen 6000 (Rembrandt)
      {"AuthenticAMD", 0x00830F10, 23, 49, 0, "Zen 2"},   // EPYC 7002 (Rome)
      {"AuthenticAMD", 0x00800F82, 23, 8, 2, "Zen+"},     // Ryzen 2000 (Pinnacle Ridge)
      {"AuthenticAMD", 0x00800F12, 23, 1, 2, "Zen"},      // EPYC 7001 (Naples)
      {"GenuineIntel", 0x000806F8, 6, 143, 8, "Sapphire Rapids"},
      {"GenuineIntel", 0x000C06F2, 6, 207, 2, "Emerald Rapids"},
      {"GenuineIntel", 0x000A06D1, 6, 173, 1, "Granite Rapids"},
      {"GenuineIntel", 0x000606A6, 6, 106, 6, "Ice Lake"},
      {"GenuineIntel", 0x00050657, 6, 85, 7, "Cascade Lake"},
      {"GenuineIntel", 0x00050654, 6, 85, 4, "Skylake-SP"},
      {"GenuineIntel", 0x0005065B, 6, 85, 11, "Cooper Lake"},
      {"GenuineIntel", 0x000306F2, 6, 63, 2, "Haswell"},
      {"GenuineIntel", 0x000B0671, 6, 183, 1, "Raptor Lake"},
      {"GenuineIntel", 0x00090672, 6, 151, 2, "Alder Lake"},
      {"HygonGenuine", 0x00900F01, 24, 0, 1, "Zen (Dhyana)"},
  };
  for (const Known& k : known) {
    const CpuId id = decode_cpu_signature(k.vendor, k.eax);
    SCOPED_TRACE(k.uarch);
    EXPECT_EQ(id.vendor, k.vendor);
    EXPECT_EQ(id.family, k.family);
    EXPECT_EQ(id.model, k.model);
    EXPECT_EQ(id.stepping, k.stepping);
    EXPECT_EQ(microarchitecture(id), k.uarch);
  }
}

TEST(CpuName, ExtendedFieldsCountOnlyWhereTheManualsSaySo) {
  // Base family 5 (a Pentium): the extended model bits are ignored.
  const CpuId old = decode_cpu_signature("GenuineIntel", 0x00010543);
  EXPECT_EQ(old.family, 5u);
  EXPECT_EQ(old.model, 4u);
  EXPECT_EQ(old.stepping, 3u);
  EXPECT_EQ(microarchitecture(old), "unknown");
}

TEST(CpuName, UnknownPartsAndVendorsSayUnknown) {
  EXPECT_EQ(microarchitecture(decode_cpu_signature("AuthenticAMD", 0x00B50F00)), "unknown");
  EXPECT_EQ(microarchitecture(decode_cpu_signature("GenuineIntel", 0x000F0FF0)), "unknown");
  EXPECT_EQ(microarchitecture(decode_cpu_signature("SomeVendorXY", 0x00B00F21)), "unknown");
  EXPECT_EQ(microarchitecture(CpuId{}), "unknown");
  EXPECT_EQ(vendor_name("SomeVendorXY"), "SomeVendorXY");
  EXPECT_EQ(vendor_name("CentaurHauls"), "Zhaoxin");
}

TEST(CpuName, DescriptionLine) {
  EXPECT_EQ(describe_cpu("AMD EPYC", decode_cpu_signature("AuthenticAMD", 0x00B00F21)),
            "AMD EPYC (AMD family 26, model 2, stepping 1, Zen 5)");
  EXPECT_EQ(describe_cpu("Intel(R) Xeon(R) Platinum 8480+",
                         decode_cpu_signature("GenuineIntel", 0x000806F8)),
            "Intel(R) Xeon(R) Platinum 8480+ (Intel family 6, model 143, stepping 8, "
            "Sapphire Rapids)");
  EXPECT_EQ(describe_cpu("", decode_cpu_signature("GenuineIntel", 0x000806F8)),
            "(model unknown) (Intel family 6, model 143, stepping 8, Sapphire Rapids)");
  EXPECT_EQ(describe_cpu("Some ARM core", CpuId{}), "Some ARM core");
}

TEST(CpuName, ThisMachineMatchesProcCpuinfo) {
#if defined(__x86_64__) || defined(__i386__)
  const CpuId id = read_cpu_id();
  EXPECT_FALSE(id.vendor.empty());
  EXPECT_GT(id.family, 0u);
  // /proc/cpuinfo prints the same display numbers.
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  unsigned family = 0, model = 0;
  bool have_family = false, have_model = false;
  while (std::getline(in, line) && !(have_family && have_model)) {
    if (!have_family && line.starts_with("cpu family")) {
      family = static_cast<unsigned>(std::stoul(line.substr(line.find(':') + 1)));
      have_family = true;
    } else if (!have_model && line.starts_with("model\t")) {
      model = static_cast<unsigned>(std::stoul(line.substr(line.find(':') + 1)));
      have_model = true;
    }
  }
  if (have_family && have_model) {
    EXPECT_EQ(id.family, family);
    EXPECT_EQ(id.model, model);
  }
  const MachineInfo m = probe();
  EXPECT_EQ(m.cpu_id.family, id.family);
  EXPECT_NE(to_json(m).find("\"microarchitecture\""), std::string::npos);
#else
  GTEST_SKIP() << "no CPUID on this architecture";
#endif
}

}  // namespace
}  // namespace hearth::hardware
