// Every LoRA adapter of the conformance pack (lora/, README §7) applied to its base model, against
// llama.cpp's outputs with the adapter: §5.2's recipe and tolerances, with the base file's type
// deciding them (fast kernels against .ref.json; the scalar reference with exact F32 arithmetic
// against .dequant-f32.ref.json where the pack has one), in every batching (conformance_run.h).
#include <gtest/gtest.h>

#include "conformance_run.h"
#include "support/json_test_util.h"
#include "support/test_support.h"

namespace hearth::model::test {
namespace {

namespace fs = std::filesystem;

struct Param {
  std::string adapter;  // stem of lora/<adapter>.gguf and of its references
  RunMode mode;
};

void PrintTo(const Param& p, std::ostream* os) {
  *os << p.adapter << " " << mode_name(p.mode) << " " << batching_name(p.mode.batching);
}

// The adapters with a reference: every lora/<stem>.ref.json that is not a .dequant-f32 one.
std::vector<std::string> adapter_stems() {
  std::vector<std::string> stems;
  if (auto dir = hearth::test::conformance_dir(); dir && fs::is_directory(*dir / "lora"))
    for (const auto& entry : fs::directory_iterator(*dir / "lora")) {
      const std::string name = entry.path().filename().string();
      const std::string suffix = ".ref.json";
      if (name.ends_with(suffix) && !name.ends_with(".dequant-f32" + suffix))
        stems.push_back(name.substr(0, name.size() - suffix.size()));
    }
  std::sort(stems.begin(), stems.end());
  if (stems.empty()) stems.push_back("none");  // the test then skips
  return stems;
}

std::vector<Param> all_params() {
  std::vector<Param> out;
  for (const std::string& stem : adapter_stems())
    for (const RunMode& mode : all_modes()) out.push_back({stem, mode});
  return out;
}

std::string param_name(const testing::TestParamInfo<Param>& info) {
  return identifier(info.param.adapter + "_" + mode_name(info.param.mode) + "_" +
                    batching_name(info.param.mode.batching));
}

class LoraConformance : public testing::TestWithParam<Param> {};

TEST_P(LoraConformance, MatchesReference) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const Param& p = GetParam();
  const fs::path lora_dir = dir / "lora";
  ASSERT_TRUE(fs::exists(lora_dir / (p.adapter + ".ref.json"))) << p.adapter;
  // The reference names the base model (in models/), the adapter file and its scale.
  const auto ref = hearth::test::json_from(hearth::test::read_file(lora_dir / (p.adapter + ".ref.json")));
  const auto& lora = ref.at("lora").as_object();
  const fs::path base = dir / "models" / boost::json::value_to<std::string>(ref.at("model"));
  const fs::path adapter_file = lora_dir / boost::json::value_to<std::string>(lora.at("adapter"));
  const auto scale = boost::json::value_to<float>(lora.at("scale"));

  const std::shared_ptr<const Model> model = Model::load(base);
  const AppliedLora applied{LoraAdapter::load(adapter_file, *model), scale};
  run_conformance({base, lora_dir, p.adapter, {applied}, p.mode});
}

INSTANTIATE_TEST_SUITE_P(Adapters, LoraConformance, testing::ValuesIn(all_params()), param_name);

}  // namespace
}  // namespace hearth::model::test
