// The built-in catalog, user catalog files, and verdicts for catalog models on hand-built machines.
#include <gtest/gtest.h>

#include <fstream>

#include "catalog/catalog.h"
#include "core/error.h"
#include "support/test_support.h"

namespace hearth::catalog {
namespace {

using hardware::kGiB;
using hardware::Verdict;

const char* const kSystemIds[] = {"code-agent-pro", "reasoning-master", "code-specialist",
                                  "fast-assistant", "creative-writer",  "research-assistant"};

void write(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// A machine like the CI one: 24 GB of RAM, no GPU, plenty of disk.
hardware::MachineInfo no_gpu_24gb() {
  hardware::MachineInfo m;
  m.logical_cores = m.physical_cores = 2;
  m.ram_total = 24 * kGiB - 600 * hardware::kMiB;
  m.ram_available = 23 * kGiB;
  m.disk_free = 80 * kGiB;
  m.disk_path = "/home/me";
  return m;
}

const ModelFit& fit_of(const std::vector<ModelFit>& fits, const std::string& id) {
  for (const auto& f : fits)
    if (f.model->id == id) return f;
  throw std::runtime_error("no fit for " + id);
}

std::string reasons(const ModelFit& f) {
  std::string s;
  for (const auto& r : f.fit.reasons) s += r + "\n";
  return s;
}

TEST(Catalog, HasTheSixSystemModelsWithSaneFields) {
  const Catalog c = Catalog::builtin();
  for (const char* id : kSystemIds) {
    const Model* m = c.find(id);
    ASSERT_NE(m, nullptr) << id;
    EXPECT_EQ(m->group, "system") << id;
    EXPECT_FALSE(m->name.empty()) << id;
    EXPECT_FALSE(m->source_model.empty()) << id;
    EXPECT_FALSE(m->description.empty()) << id;
    EXPECT_FALSE(m->specialty.empty()) << id;
    EXPECT_FALSE(m->use_cases.empty()) << id;
    EXPECT_FALSE(m->license.empty()) << id;
    EXPECT_GT(m->parameters, 1'000'000'000u) << id;
    EXPECT_GE(m->context_length, 4096u) << id;
    EXPECT_GT(m->requirements.min_ram, 0u) << id;
    EXPECT_GT(m->requirements.min_disk, 0u) << id;
    EXPECT_EQ(m->default_tag, "q4_k_m") << id;
    ASSERT_NE(m->find_variant("q4_k_m"), nullptr) << id;
    EXPECT_NE(m->find_variant("q8_0"), nullptr) << id;
    for (const auto& v : m->variants) {
      EXPECT_NE(v.repo.find('/'), std::string::npos) << id;
      EXPECT_TRUE(v.file.ends_with(".gguf")) << id << " " << v.file;
      // Each file is bigger than 4 bits per parameter / 2 and smaller than 9 bits per parameter.
      EXPECT_GT(v.size_bytes, m->parameters / 4) << id << " " << v.tag;
      EXPECT_LT(v.size_bytes, m->parameters * 9 / 8) << id << " " << v.tag;
    }
  }
}

TEST(Catalog, TheIssuesRequirementsAreRecorded) {
  const Catalog c = Catalog::builtin();
  const Model& coder = *c.find("code-specialist");
  EXPECT_EQ(coder.requirements.min_ram, 64 * kGiB);
  EXPECT_EQ(coder.requirements.min_vram, 24 * kGiB);
  EXPECT_EQ(coder.quality, 10);
  EXPECT_EQ(coder.speed, 6);
  const Model& reasoner = *c.find("reasoning-master");
  EXPECT_EQ(reasoner.requirements.gpu, hardware::GpuNeed::none);
  EXPECT_EQ(reasoner.requirements.min_ram, 8 * kGiB);
  EXPECT_EQ(c.find("creative-writer")->requirements.min_vram, 32 * kGiB);
  EXPECT_EQ(c.find("code-agent-pro")->requirements.gpu, hardware::GpuNeed::recommended);
  EXPECT_EQ(c.find("fast-assistant")->requirements.gpu, hardware::GpuNeed::optional);
}

TEST(Catalog, HasOneStarterThatRunsAnywhere) {
  const Catalog c = Catalog::builtin();
  const Model& s = c.starter();
  EXPECT_TRUE(s.starter);
  EXPECT_EQ(s.group, "starter");
  EXPECT_LT(s.default_variant().size_bytes, 1'000'000'000u);
  int starters = 0;
  for (const auto& m : c.models()) starters += m.starter ? 1 : 0;
  EXPECT_EQ(starters, 1);
  EXPECT_NE(c.find("llama-3.2-1b-instruct"), nullptr);
}

TEST(UserCatalog, AddsAndReplacesEntries) {
  test::TempDir tmp;
  write(tmp.path() / "catalog.json", R"({"version": 1, "models": [
    {"id": "my-model", "context_length": 4096, "layers": 16, "kv_heads": 8, "head_dim": 64,
     "use_cases": ["chat"],
     "variants": [{"tag": "Q4_K_M", "repo": "me/my-model-GGUF", "file": "my-model-Q4_K_M.gguf",
                   "size_bytes": 800000000}]},
    {"id": "fast-assistant", "name": "My fast one", "context_length": 8192, "layers": 28,
     "kv_heads": 8, "head_dim": 128,
     "variants": [{"tag": "q4_k_m", "repo": "me/fast", "file": "fast.gguf", "size_bytes": 2000000000}]}
  ]})");
  const Catalog c = Catalog::load(tmp.path() / "catalog.json");
  const size_t builtin_count = Catalog::builtin().models().size();
  EXPECT_EQ(c.models().size(), builtin_count + 1);
  const Model* mine = c.find("my-model");
  ASSERT_NE(mine, nullptr);
  EXPECT_EQ(mine->group, "user");
  EXPECT_EQ(mine->default_tag, "q4_k_m");  // tags are stored lower-case
  EXPECT_EQ(mine->name, "my-model");
  EXPECT_EQ(c.find("fast-assistant")->name, "My fast one");
  EXPECT_EQ(c.find("fast-assistant")->variants.front().repo, "me/fast");
}

TEST(UserCatalog, AByteOrderMarkIsFine) {
  // Windows editors may start the file with one; the catalog reads it all the same.
  test::TempDir tmp;
  write(tmp.path() / "catalog.json", "\xEF\xBB\xBF" R"({"models": [
    {"id": "bom-model", "context_length": 4096, "layers": 16, "kv_heads": 8, "head_dim": 64,
     "variants": [{"tag": "q8_0", "repo": "me/bom", "file": "bom.gguf", "size_bytes": 1000}]}]})");
  const Catalog c = Catalog::load(tmp.path() / "catalog.json");
  ASSERT_NE(c.find("bom-model"), nullptr);
  EXPECT_EQ(c.find("bom-model")->default_variant().size_bytes, 1000u);
}

TEST(UserCatalog, MissingFileMeansBuiltinOnly) {
  test::TempDir tmp;
  EXPECT_EQ(Catalog::load(tmp.path() / "catalog.json").models().size(),
            Catalog::builtin().models().size());
}

void expect_broken(const std::string& text, const std::string& mention) {
  test::TempDir tmp;
  const auto path = tmp.path() / "catalog.json";
  write(path, text);
  try {
    Catalog::load(path);
    FAIL() << "expected an error for: " << text;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::corrupt_file);
    const std::string what = e.what();
    EXPECT_NE(what.find(path.string()), std::string::npos) << what;
    EXPECT_NE(what.find(mention), std::string::npos) << what;
  }
}

TEST(UserCatalog, BrokenFileGivesAClearErrorNamingIt) {
  expect_broken("{\"models\": [", "not valid JSON");
  expect_broken("{\n  \"models\": [1,]\n}", "not valid JSON (syntax error at line 2, column 16)");
  expect_broken(R"({"models": [{"id": "x", "context_length": -1, "layers": 1, "kv_heads": 1,
                   "head_dim": 1, "variants": []}]})",
                "\"context_length\" must be a whole number of at least 0");
  expect_broken(R"({"models": [{"id": "x", "context_length": 4096.0, "layers": 1, "kv_heads": 1,
                   "head_dim": 1, "variants": []}]})",
                "\"context_length\" must be a whole number of at least 0");
  expect_broken("{\"version\": 1}", "\"models\"");
  expect_broken(R"({"models": [{"id": "x", "layers": 1, "kv_heads": 1, "head_dim": 1}]})",
                "context_length");
  expect_broken(R"({"models": [{"id": "Bad/Id", "context_length": 1, "layers": 1, "kv_heads": 1,
                   "head_dim": 1, "variants": []}]})",
                "id");
  expect_broken(R"({"models": [{"id": "x", "context_length": 1, "layers": 1, "kv_heads": 1,
                   "head_dim": 1, "variants": []}]})",
                "variants");
  expect_broken(R"({"models": [{"id": "x", "context_length": 1, "layers": 1, "kv_heads": 1,
                   "head_dim": 1, "variants": [{"tag": "a", "repo": "o/r", "file": "f.gguf",
                   "size_bytes": "big"}]}]})",
                "size_bytes");
  expect_broken(R"({"models": [{"id": "x", "context_length": 1, "layers": 1, "kv_heads": 1,
                   "head_dim": 1, "requirements": {"gpu": "maybe"},
                   "variants": [{"tag": "a", "repo": "o/r", "file": "f.gguf", "size_bytes": 5}]}]})",
                "gpu");
  expect_broken(R"({"version": 2, "models": []})", "version");
}

TEST(Fit, On24GbWithoutGpuTheBigModelsWillNotFit) {
  const Catalog c = Catalog::builtin();
  const auto fits = assess_all(no_gpu_24gb(), c);
  const ModelFit& coder = fit_of(fits, "code-specialist");
  EXPECT_EQ(coder.fit.verdict, Verdict::will_not_fit);
  EXPECT_NE(reasons(coder).find("64 GB RAM (catalog minimum)"), std::string::npos)
      << reasons(coder);
  EXPECT_NE(reasons(coder).find("needs a GPU with 24 GB VRAM, none found"), std::string::npos)
      << reasons(coder);
  const ModelFit& writer = fit_of(fits, "creative-writer");
  EXPECT_EQ(writer.fit.verdict, Verdict::will_not_fit);
  EXPECT_NE(reasons(writer).find("needs a GPU with 32 GB VRAM, none found"), std::string::npos);
  EXPECT_EQ(fit_of(fits, "code-agent-pro").fit.verdict, Verdict::will_not_fit);  // 32 GB minimum
  EXPECT_EQ(fit_of(fits, "reasoning-master").fit.verdict, Verdict::fits_cpu);
  EXPECT_EQ(fit_of(fits, "fast-assistant").fit.verdict, Verdict::fits_cpu);
  EXPECT_EQ(fit_of(fits, "research-assistant").fit.verdict, Verdict::fits_cpu);
  EXPECT_EQ(fit_of(fits, "research-assistant").n_ctx, 4096u);  // its own context is shorter
}

TEST(Fit, With24GbGpuAndEnoughRamTheCoderRunsOnTheGpu) {
  hardware::MachineInfo m = no_gpu_24gb();
  m.ram_total = 128 * kGiB;
  m.ram_available = 120 * kGiB;
  m.gpus.push_back({0, "NVIDIA RTX 6000 Ada", 48 * kGiB, 47 * kGiB});
  const Catalog c = Catalog::builtin();
  const Model& coder = *c.find("code-specialist");
  const ModelFit f = assess(m, coder, coder.default_variant());
  EXPECT_EQ(f.fit.verdict, Verdict::fits_gpu) << reasons(f);
}

TEST(Recommend, PicksTheBestFittingModelPerUseCase) {
  const Catalog c = Catalog::builtin();
  const auto fits = assess_all(no_gpu_24gb(), c);
  const auto recs = recommend(fits);
  auto find = [&](const std::string& use_case) -> const Recommendation* {
    for (const auto& r : recs)
      if (r.use_case == use_case) return &r;
    return nullptr;
  };
  const Recommendation* reasoning = find("reasoning");
  ASSERT_NE(reasoning, nullptr);
  ASSERT_NE(reasoning->choice, nullptr);
  EXPECT_EQ(reasoning->choice->model->id, "reasoning-master");
  const Recommendation* chat = find("chat");
  ASSERT_NE(chat, nullptr);
  ASSERT_NE(chat->choice, nullptr);
  // Quality 8 beats fast-assistant's 7 and the starters; of the two at 8, Qwen3-8B is faster.
  EXPECT_EQ(chat->choice->model->id, "qwen3-8b");
  const Recommendation* writing = find("writing");
  ASSERT_NE(writing, nullptr);
  ASSERT_NE(writing->choice, nullptr);  // creative-writer does not fit; Gemma 3 12B does
  EXPECT_EQ(writing->choice->model->id, "gemma-3-12b-it");
  for (const auto& r : recs) {
    if (r.choice != nullptr) {
      EXPECT_TRUE(hardware::fits(r.choice->fit.verdict)) << r.use_case;
    }
  }
}

// Qwen3 and Gemma 3: every size, with the hyperparameters the fit reads, Q4_K_M by default and a
// Q8_0, sizes within the bits a quantization can take, and all of them fit the CI machine.
TEST(Catalog, OffersQwen3AndGemma3) {
  const Catalog c = Catalog::builtin();
  struct Expect {
    const char* id;
    const char* arch;
    uint32_t layers, kv_heads, head_dim, window;
  };
  for (const Expect& e : {Expect{"qwen3-0.6b", "qwen3", 28, 8, 128, 0},
                          Expect{"qwen3-1.7b", "qwen3", 28, 8, 128, 0},
                          Expect{"qwen3-4b", "qwen3", 36, 8, 128, 0},
                          Expect{"qwen3-8b", "qwen3", 36, 8, 128, 0},
                          Expect{"gemma-3-1b-it", "gemma3", 26, 1, 256, 512},
                          Expect{"gemma-3-4b-it", "gemma3", 34, 4, 256, 1024},
                          Expect{"gemma-3-12b-it", "gemma3", 48, 8, 256, 1024}}) {
    SCOPED_TRACE(e.id);
    const Model* m = c.find(e.id);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->architecture, e.arch);
    EXPECT_EQ(m->layers, e.layers);
    EXPECT_EQ(m->kv_heads, e.kv_heads);
    EXPECT_EQ(m->head_dim, e.head_dim);
    EXPECT_EQ(m->sliding_window, e.window);
    EXPECT_EQ(m->default_tag, "q4_k_m");
    ASSERT_NE(m->find_variant("q8_0"), nullptr);
    for (const auto& v : m->variants) {
      EXPECT_TRUE(v.size_estimated) << v.tag;
      EXPECT_GT(v.size_bytes, m->parameters / 2) << v.tag;  // at least 4 bits per parameter
      EXPECT_LT(v.size_bytes, m->parameters * 9 / 8) << v.tag;
    }
    EXPECT_GT(m->find_variant("q8_0")->size_bytes, m->default_variant().size_bytes);
    const ModelFit f = assess(no_gpu_24gb(), *m, m->default_variant());
    EXPECT_EQ(f.fit.verdict, Verdict::fits_cpu) << reasons(f);
  }
}

// Gemma 3's local layers (five in six) keep only their window in the KV cache, and the fit
// counts them so: min(n_ctx, window + 512) cells per local layer, n_ctx per global one.
TEST(Fit, SlidingWindowLayersCountOnlyTheirWindow) {
  const Catalog c = Catalog::builtin();
  const Model& g = *c.find("gemma-3-12b-it");
  const hardware::ModelShape shape = g.shape(g.default_variant());
  EXPECT_EQ(shape.n_layer_swa, 40u);  // layers 5, 11, ..., 47 are global
  EXPECT_EQ(shape.swa_window, 1024u);
  const uint64_t per_cell = 2 * 8 * 256 * 2;  // K and V of 8 heads of 256, F16
  EXPECT_EQ(hardware::kv_cache_bytes(shape, 8192), (8 * 8192 + 40 * 1536) * per_cell);
  // Shorter than window + 512: every layer holds the whole context.
  EXPECT_EQ(hardware::kv_cache_bytes(shape, 1000), 48 * 1000 * per_cell);
  // Two sequences keep two windows.
  EXPECT_EQ(hardware::kv_cache_bytes(shape, 2 * 8192, 2, 2),
            (8 * 2 * 8192 + 40 * (2 * 1024 + 512)) * per_cell);
  hardware::ModelShape all_global = shape;
  all_global.n_layer_swa = 0;
  EXPECT_EQ(hardware::kv_cache_bytes(all_global, 8192), 48 * 8192 * per_cell);
  const ModelFit f = assess(no_gpu_24gb(), g, g.default_variant(), 8192);
  EXPECT_EQ(f.fit.memory.kv_cache, hardware::kv_cache_bytes(shape, 8192));
  // The 1B: 26 layers, of which 5, 11, 17 and 23 are global.
  const Model& small = *c.find("gemma-3-1b-it");
  EXPECT_EQ(small.shape(small.default_variant()).n_layer_swa, 22u);
  // Qwen3 has no local layers.
  EXPECT_EQ(c.find("qwen3-8b")->shape(c.find("qwen3-8b")->default_variant()).n_layer_swa, 0u);
}

TEST(UserCatalog, SlidingWindowNeedsItsPattern) {
  expect_broken(R"({"models": [{"id": "x", "context_length": 8, "layers": 2, "kv_heads": 1,
                   "head_dim": 4, "sliding_window": 4,
                   "variants": [{"tag": "a", "repo": "o/r", "file": "f.gguf", "size_bytes": 5}]}]})",
                "\"sliding_window\" needs \"sliding_window_pattern\"");
}

}  // namespace
}  // namespace hearth::catalog
