// The machine probe's parsers on sample /proc and /etc text, and the live probe's sanity.
#include <gtest/gtest.h>

#include "core/error.h"
#include "hardware/hardware.h"
#include "support/json_test_util.h"
#include "support/test_support.h"

namespace hearth::hardware {
namespace {

namespace json = boost::json;

constexpr const char* kMeminfo =
    "MemTotal:       24684092 kB\n"
    "MemFree:        23657764 kB\n"
    "MemAvailable:   24137392 kB\n"
    "Buffers:            3848 kB\n"
    "Cached:           642336 kB\n"
    "SwapCached:            0 kB\n";

TEST(Meminfo, ReadsTotalAndAvailableInBytes) {
  MemoryInfo m = parse_meminfo(kMeminfo);
  EXPECT_EQ(m.total, 24684092ull * 1024);
  EXPECT_EQ(m.available, 24137392ull * 1024);
}

TEST(Meminfo, WithoutMemAvailableAddsFreeBuffersAndCached) {
  MemoryInfo m =
      parse_meminfo("MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 20 kB\nCached: 300 kB\n");
  EXPECT_EQ(m.total, 1000u * 1024);
  EXPECT_EQ(m.available, 420u * 1024);
}

TEST(Meminfo, MissingTotalOrGarbageIsCorrupt) {
  try {
    parse_meminfo("MemFree: 100 kB\n");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::corrupt_file);
    EXPECT_NE(std::string(e.what()).find("MemTotal"), std::string::npos);
  }
  EXPECT_THROW(parse_meminfo("MemTotal: lots kB\n"), Error);
  EXPECT_THROW(parse_meminfo(""), Error);
}

// Two sockets, two cores each, two threads per core: 8 logical, 4 physical.
constexpr const char* kCpuinfoHyperthreads =
    "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz\nphysical id\t: 0\n"
    "core id\t\t: 0\n\n"
    "processor\t: 1\nmodel name\t: Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz\nphysical id\t: 0\n"
    "core id\t\t: 1\n\n"
    "processor\t: 2\nphysical id\t: 1\ncore id\t\t: 0\n\n"
    "processor\t: 3\nphysical id\t: 1\ncore id\t\t: 1\n\n"
    "processor\t: 4\nphysical id\t: 0\ncore id\t\t: 0\n\n"
    "processor\t: 5\nphysical id\t: 0\ncore id\t\t: 1\n\n"
    "processor\t: 6\nphysical id\t: 1\ncore id\t\t: 0\n\n"
    "processor\t: 7\nphysical id\t: 1\ncore id\t\t: 1\n\n";

TEST(Cpuinfo, CountsThreadsAndDistinctCores) {
  CpuInfo c = parse_cpuinfo(kCpuinfoHyperthreads);
  EXPECT_EQ(c.logical, 8u);
  EXPECT_EQ(c.physical, 4u);
  EXPECT_EQ(c.model, "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz");
}

TEST(Cpuinfo, ArmLayoutWithoutCoreIdsCountsEachProcessor) {
  CpuInfo c = parse_cpuinfo(
      "processor\t: 0\nBogoMIPS\t: 48.00\nFeatures\t: fp asimd\n\n"
      "processor\t: 1\nBogoMIPS\t: 48.00\n\n"
      "processor\t: 2\n\nprocessor\t: 3\n\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n");
  EXPECT_EQ(c.logical, 4u);
  EXPECT_EQ(c.physical, 4u);
  EXPECT_EQ(c.model, "Raspberry Pi 4 Model B Rev 1.4");
}

TEST(Cpuinfo, EmptyTextGivesZero) {
  CpuInfo c = parse_cpuinfo("");
  EXPECT_EQ(c.logical, 0u);
  EXPECT_EQ(c.physical, 0u);
}

TEST(OsRelease, ReadsPrettyNameWithOrWithoutQuotes) {
  EXPECT_EQ(parse_os_release("NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 "
                             "(bookworm)\"\nVERSION_ID=\"12\"\n"),
            "Debian GNU/Linux 12 (bookworm)");
  EXPECT_EQ(parse_os_release("PRETTY_NAME=Arch Linux\n"), "Arch Linux");
  EXPECT_EQ(parse_os_release("NAME=Foo\n"), "");
}

TEST(FreeDisk, MeasuresTheNearestExistingParent) {
  test::TempDir tmp;
  std::filesystem::path measured;
  const uint64_t free = free_disk_bytes(tmp.path() / "not" / "yet" / "made", &measured);
  EXPECT_GT(free, 0u);
  EXPECT_EQ(measured, tmp.path());
}

TEST(Probe, ThisMachineHasCoresRamAndAnOs) {
  MachineInfo m = probe();
  EXPECT_GT(m.logical_cores, 0u);
  EXPECT_GT(m.physical_cores, 0u);
  EXPECT_LE(m.physical_cores, m.logical_cores);
  EXPECT_GT(m.ram_total, 0u);
  EXPECT_LE(m.ram_available, m.ram_total);
  EXPECT_FALSE(m.os_name.empty());
  EXPECT_FALSE(m.disk_path.empty());
  // No GPU is a normal answer, but then the probe says why.
  if (m.gpus.empty()) {
    EXPECT_FALSE(m.gpu_note.empty());
  }
  for (const auto& g : m.gpus) {
    EXPECT_FALSE(g.name.empty());
    EXPECT_LE(g.vram_free, g.vram_total);
  }
}

TEST(Probe, JsonHasEveryField) {
  MachineInfo m;
  m.cpu_model = "Test CPU";
  m.logical_cores = 8;
  m.physical_cores = 4;
  m.simd = {"avx2", "fma"};
  m.ram_total = 16 * kGiB;
  m.gpus.push_back({0, "NVIDIA Test", 24 * kGiB, 20 * kGiB});
  const std::string text = to_json(m);
  const json::value j = test::json_from(text);
  EXPECT_EQ(j.at("logical_cores"), 8);
  EXPECT_EQ(j.at("physical_cores"), 4);
  EXPECT_EQ(j.at("simd").as_array().size(), 2u);
  EXPECT_EQ(j.at("ram_total_bytes"), 16 * kGiB);
  ASSERT_EQ(j.at("gpus").as_array().size(), 1u);
  EXPECT_EQ(j.at("gpus").at(0).at("name"), "NVIDIA Test");
  EXPECT_EQ(j.at("gpus").at(0).at("vram_total_bytes"), 24 * kGiB);
  for (const char* key : {"cpu_model", "ram_available_bytes", "disk_path", "disk_free_bytes", "os",
                          "kernel", "arch", "gpu_driver", "gpu_note"})
    EXPECT_TRUE(test::has_key(j, key)) << key;
  // `hearth hw --json` prints this text: keys in order, two spaces deeper per level.
  EXPECT_TRUE(text.starts_with("{\n  \"arch\": \"\",\n  \"cpu_model\": \"Test CPU\",\n")) << text;
  EXPECT_TRUE(test::contains(text, "\"gpus\": [\n    {\n      \"cpu_device\": false,\n")) << text;
  // The Vulkan device's facts (hearth hw).
  for (const char* key : {"index", "vulkan", "vendor", "kind", "subgroup_size", "fp16", "int8_dot",
                          "vram_free_measured"})
    EXPECT_TRUE(j.at("gpus").at(0).as_object().contains(key)) << key;
}

}  // namespace
}  // namespace hearth::hardware
