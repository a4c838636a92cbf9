// list_devices() and open_device(): what the Vulkan device list says, and buffers' round trips.
#include <gtest/gtest.h>

#include "core/error.h"
#include "gpu_test_util.h"

namespace hearth::gpu::test {
namespace {

TEST(GpuDevices, ListingNeverThrowsAndExplainsAnEmptyList) {
  const DeviceList list = list_devices();
  if (list.devices.empty()) {
    EXPECT_FALSE(list.note.empty());
    GTEST_SKIP() << "no Vulkan device (" << list.note << ")";
  }
  for (size_t i = 0; i < list.devices.size(); ++i) {
    const DeviceInfo& d = list.devices[i];
    EXPECT_EQ(d.index, static_cast<int>(i));
    EXPECT_FALSE(d.name.empty());
    EXPECT_FALSE(d.vendor.empty());
    EXPECT_FALSE(d.driver.empty());
    EXPECT_GT(d.vram_bytes, 0u) << d.name;
  }
}

TEST(GpuDevices, LavapipeIsACpuDeviceWithASubgroupSize) {
  const DeviceList list = list_devices();
  if (list.devices.empty()) GTEST_SKIP() << "no Vulkan device (" << list.note << ")";
  const DeviceInfo* lavapipe = nullptr;
  for (const DeviceInfo& d : list.devices)
    if (d.name.find("llvmpipe") != std::string::npos) lavapipe = &d;
  if (lavapipe == nullptr) GTEST_SKIP() << "no lavapipe device among " << list.devices.size();
  EXPECT_EQ(lavapipe->kind, DeviceKind::cpu);
  EXPECT_STREQ(device_kind_name(lavapipe->kind), "cpu");
  EXPECT_EQ(lavapipe->vendor, "Mesa");
  EXPECT_EQ(lavapipe->vendor_id, 0x10005u);
  EXPECT_GT(lavapipe->subgroup_size, 0u);
  EXPECT_NE(lavapipe->driver.find("llvmpipe"), std::string::npos) << lavapipe->driver;
}

TEST(GpuDevices, OpeningADeviceThatIsNotThereIsUnavailable) {
  try {
    open_device(static_cast<int>(list_devices().devices.size()) + 3);
    FAIL() << "opened a device that does not exist";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::unavailable);
  }
}

using GpuBuffers = GpuTest;

TEST_F(GpuBuffers, UploadAndDownloadRoundTripAtOffsets) {
  std::mt19937 rng(3);
  std::vector<uint8_t> bytes(1001);
  for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng());
  const uint64_t before = dev().allocated_bytes();
  {
    auto buffer = dev().allocate(bytes.size());
    EXPECT_EQ(buffer->size(), bytes.size());
    EXPECT_GE(dev().allocated_bytes(), before + bytes.size());
    buffer->upload(bytes.data(), bytes.size());
    buffer->upload(bytes.data(), 10, 991);  // the tail again, from the start of `bytes`
    std::vector<uint8_t> back(bytes.size());
    buffer->download(back.data(), back.size());
    std::vector<uint8_t> want = bytes;
    std::copy_n(bytes.begin(), 10, want.begin() + 991);
    EXPECT_EQ(back, want);
    std::vector<uint8_t> middle(7);
    buffer->download(middle.data(), middle.size(), 500);
    EXPECT_TRUE(std::equal(middle.begin(), middle.end(), want.begin() + 500));
    EXPECT_THROW(buffer->upload(bytes.data(), 2, 1000), Error);
    EXPECT_THROW(buffer->download(middle.data(), 7, 999), Error);
  }
  EXPECT_EQ(dev().allocated_bytes(), before);
}

TEST_F(GpuBuffers, RunningNothingIsFine) {
  Commands commands(dev());
  commands.run();
  commands.run();
}

// A device opened after another closed starts from the process's pipeline cache: same results.
TEST_F(GpuBuffers, ASecondDeviceOfTheProcessComputesTheSame) {
  std::vector<float> w(64 * 5), x(64 * 2);
  std::mt19937 rng(4);
  for (float& v : w) v = std::normal_distribution<float>()(rng);
  for (float& v : x) v = std::normal_distribution<float>()(rng);
  std::vector<float> results[2];
  for (auto& y : results) {
    auto device = open_device(0);
    auto wb = device->allocate(w.size() * 4), xb = device->allocate(x.size() * 4),
         yb = device->allocate(40);
    wb->upload(w.data(), w.size() * 4);
    xb->upload(x.data(), x.size() * 4);
    Commands commands(*device);
    commands.matmul({{wb.get(), 0, w.size() * 4}, TensorType::f32, 64, 5},
                    {xb.get(), 0, x.size() * 4}, 2, {yb.get(), 0, 40});
    commands.run();
    y.resize(10);
    yb->download(y.data(), 40);
  }
  EXPECT_EQ(results[0], results[1]);
  EXPECT_FALSE(std::isnan(results[0][9]));
}

}  // namespace
}  // namespace hearth::gpu::test
