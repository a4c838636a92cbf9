// list_devices(): every Vulkan physical device with a compute queue, described for `hearth hw`,
// the fit planner and open_device(). Never throws: a missing loader, driver or device is an
// empty list with a note.
#include <exception>
#include <vector>

#include "gpu/device_probe.h"
#include "gpu/gpu.h"

namespace hearth::gpu {

const char* device_kind_name(DeviceKind kind) {
  switch (kind) {
    case DeviceKind::discrete:
      return "discrete";
    case DeviceKind::integrated:
      return "integrated";
    case DeviceKind::virtual_gpu:
      return "virtual";
    case DeviceKind::cpu:
      return "cpu";
    case DeviceKind::other:
      return "other";
  }
  return "other";
}

DeviceList list_devices() {
  DeviceList out;
  try {
    Instance instance;
    if (!open_instance(instance, &out.note)) return out;
    std::vector<VkPhysicalDevice> physical;
    if (!physical_devices(instance, physical, &out.note)) return out;
    for (size_t i = 0; i < physical.size(); ++i) {
      DeviceInfo d;
      d.index = static_cast<int>(out.devices.size());
      if (describe_device(instance.api, physical[i], d)) out.devices.push_back(std::move(d));
    }
    if (out.devices.empty()) out.note = "no Vulkan device has a compute queue";
  } catch (const std::exception& e) {
    out.devices.clear();
    out.note = std::string("Vulkan device listing failed: ") + e.what();
  }
  return out;
}

}  // namespace hearth::gpu
