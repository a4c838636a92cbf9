// The machine probe and the parsers of /proc and /etc files it reads.
#include <sys/statvfs.h>
#include <sys/utsname.h>

#include <boost/json.hpp>

#include <charconv>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>
#include <utility>

#include "core/cpu_features.h"
#include "core/error.h"
#include "core/json_text.h"
#include "core/paths.h"
#include "hardware/hardware.h"

namespace hearth::hardware {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// Calls fn(key, value) for each "key <sep> value" line.
template <typename Fn>
void for_each_field(std::string_view text, char separator, Fn&& fn) {
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    size_t sep = line.find(separator);
    if (sep == std::string_view::npos) {
      fn(trim(line), std::string_view(), false);
      continue;
    }
    fn(trim(line.substr(0, sep)), trim(line.substr(sep + 1)), true);
  }
}

bool parse_unsigned(std::string_view text, uint64_t& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end != text.data();
}

std::string read_text_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> words;
  std::istringstream in(text);
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

}  // namespace

MemoryInfo read_meminfo() {
  try {
    return parse_meminfo(read_text_file("/proc/meminfo"));
  } catch (const Error&) {
    return {};  // not Linux, or /proc is hidden: unknown (zero)
  }
}

MemoryInfo parse_meminfo(std::string_view text) {
  bool have_total = false, have_available = false;
  uint64_t total = 0, available = 0, free = 0, buffers = 0, cached = 0;
  for_each_field(text, ':', [&](std::string_view key, std::string_view value, bool has_sep) {
    if (!has_sep) return;
    uint64_t* target = key == "MemTotal"       ? &total
                       : key == "MemAvailable" ? &available
                       : key == "MemFree"      ? &free
                       : key == "Buffers"      ? &buffers
                       : key == "Cached"       ? &cached
                                               : nullptr;
    if (target == nullptr) return;
    uint64_t kib = 0;
    if (!parse_unsigned(value, kib))
      throw Error(ErrorKind::corrupt_file, "/proc/meminfo: " + std::string(key) +
                                               " is not a number: '" + std::string(value) + "'");
    *target = kib * 1024;  // the kernel writes "kB" and means KiB
    if (key == "MemTotal") have_total = true;
    if (key == "MemAvailable") have_available = true;
  });
  if (!have_total) throw Error(ErrorKind::corrupt_file, "/proc/meminfo: no MemTotal line");
  MemoryInfo info;
  info.total = total;
  info.available = have_available ? available : std::min(total, free + buffers + cached);
  return info;
}

CpuInfo parse_cpuinfo(std::string_view text) {
  CpuInfo info;
  std::set<std::pair<std::string, std::string>> cores;
  std::string physical_id, core_id;
  bool in_processor = false;
  auto finish_processor = [&] {
    if (in_processor && !core_id.empty()) cores.insert({physical_id, core_id});
    physical_id.clear();
    core_id.clear();
  };
  for_each_field(text, ':', [&](std::string_view key, std::string_view value, bool has_sep) {
    if (!has_sep) return;
    if (key == "processor") {
      finish_processor();
      in_processor = true;
      ++info.logical;
    } else if (key == "physical id") {
      physical_id = value;
    } else if (key == "core id") {
      core_id = value;
    } else if (info.model.empty() &&
               (key == "model name" || key == "Model" || key == "cpu model")) {
      info.model = value;
    }
  });
  finish_processor();
  info.physical = cores.empty() ? info.logical : static_cast<unsigned>(cores.size());
  return info;
}

std::string parse_os_release(std::string_view text) {
  std::string pretty;
  for_each_field(text, '=', [&](std::string_view key, std::string_view value, bool has_sep) {
    if (!has_sep || key != "PRETTY_NAME") return;
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front())
      value = value.substr(1, value.size() - 2);
    pretty = value;
  });
  return pretty;
}

uint64_t free_disk_bytes(const std::filesystem::path& where, std::filesystem::path* measured) {
  std::error_code ec;
  std::filesystem::path p = std::filesystem::absolute(where, ec);
  if (ec) p = where;
  while (true) {
    if (std::filesystem::exists(p, ec)) {
      struct statvfs st {};
      if (statvfs(p.c_str(), &st) == 0) {
        if (measured != nullptr) *measured = p;
        return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
      }
    }
    if (!p.has_parent_path() || p.parent_path() == p) return 0;
    p = p.parent_path();
  }
}

MachineInfo probe() {
  MachineInfo m;
  CpuInfo cpu = parse_cpuinfo(read_text_file("/proc/cpuinfo"));
  m.cpu_model = cpu.model;
  m.cpu_id = read_cpu_id();
  m.logical_cores = cpu.logical;
  m.physical_cores = cpu.physical;
  if (m.logical_cores == 0)
    m.logical_cores = m.physical_cores = std::thread::hardware_concurrency();
  const CpuFeatures& features = cpu_features();
  if (features.avx2 || features.fma || features.f16c || features.avx512f || features.avx_vnni)
    m.simd = split_words(features.describe());

  const MemoryInfo mem = read_meminfo();
  m.ram_total = mem.total;
  m.ram_available = mem.available;

  std::filesystem::path home;
  try {
    home = paths::home();
  } catch (const Error&) {
    home = std::filesystem::current_path();
  }
  m.disk_free = free_disk_bytes(home, &m.disk_path);

  struct utsname u {};
  if (uname(&u) == 0) {
    m.kernel = std::string(u.sysname) + " " + u.release;
    m.arch = u.machine;
  }
  m.os_name = parse_os_release(read_text_file("/etc/os-release"));
  if (m.os_name.empty()) m.os_name = m.kernel;

  m.gpus = probe_gpus(&m.gpu_driver, &m.gpu_note);
  return m;
}

std::string to_json(const MachineInfo& m) {
  namespace json = boost::json;
  json::array gpus;
  for (const auto& g : m.gpus)
    gpus.push_back(json::object{{"index", g.index},
                                {"name", g.name},
                                {"vram_total_bytes", g.vram_total},
                                {"vram_free_bytes", g.vram_free},
                                {"vram_free_measured", g.free_measured},
                                {"vulkan", g.vulkan},
                                {"vendor", g.vendor},
                                {"kind", g.kind},
                                {"cpu_device", g.cpu_device},
                                {"subgroup_size", g.subgroup_size},
                                {"fp16", g.fp16},
                                {"int8_dot", g.int8_dot}});
  json::array simd;
  for (const auto& feature : m.simd) simd.push_back(json::string(feature));
  const json::object j = {
      {"cpu_model", m.cpu_model},
      {"cpuid", json::object{{"vendor", m.cpu_id.vendor},
                             {"family", m.cpu_id.family},
                             {"model", m.cpu_id.model},
                             {"stepping", m.cpu_id.stepping},
                             {"microarchitecture", microarchitecture(m.cpu_id)},
                             {"description", describe_cpu(m.cpu_model, m.cpu_id)}}},
      {"logical_cores", m.logical_cores},
      {"physical_cores", m.physical_cores},
      {"simd", std::move(simd)},
      {"ram_total_bytes", m.ram_total},
      {"ram_available_bytes", m.ram_available},
      {"disk_path", m.disk_path.string()},
      {"disk_free_bytes", m.disk_free},
      {"os", m.os_name},
      {"kernel", m.kernel},
      {"arch", m.arch},
      {"gpus", std::move(gpus)},
      {"gpu_driver", m.gpu_driver},
      {"gpu_note", m.gpu_note},
  };
  return format_json(j, 2);
}

}  // namespace hearth::hardware
