// ModelRunner's model side: loading, the KV cache and its size rule, the prompt text, raw feeding
// and embeddings. The per-sequence steps are in runner_step.cpp.
#include <algorithm>
#include <filesystem>

#include "core/config.h"
#include "core/log.h"
#include "engine/generate/adapter_cache.h"
#include "engine/generate/runner.h"
#include "engine/generate/sequence.h"
#include "hardware/hardware.h"

namespace hearth::generate {

ModelRunner::ModelRunner(std::string path, std::shared_ptr<const model::Model> model,
                         RunnerOptions options)
    : path_(std::move(path)), model_(std::move(model)), options_(options) {
  int threads = options_.threads;
  if (threads == 0) threads = static_cast<int>(config::get_int("HEARTH_THREADS", 0, 1024));
  pool_ = std::make_unique<ThreadPool>(static_cast<size_t>(threads));
  chat_ = chat::ModelChat::of(model_->file(), tokenizer());
  for (const LoraFile& f : options_.adapters)
    adapters_.push_back({model::LoraAdapter::load(f.path, *model_), f.scale});
  request_adapters_ =
      std::make_unique<AdapterCache>(static_cast<size_t>(std::max(0, options_.adapter_cache)));
}

ModelRunner::~ModelRunner() = default;

std::unique_ptr<ModelRunner> ModelRunner::load_weights(const std::string& path,
                                                       RunnerOptions options) {
  return std::unique_ptr<ModelRunner>(new ModelRunner(path, model::Model::load(path), options));
}

std::unique_ptr<ModelRunner> ModelRunner::load(const std::string& path, RunnerOptions options) {
  auto runner = load_weights(path, options);
  int n_ctx = options.n_ctx;
  if (n_ctx <= 0) n_ctx = std::min(4096, std::max(1, runner->n_ctx_train()));
  runner->reserve(n_ctx, std::max(1, options.n_seq));
  return runner;
}

int ModelRunner::n_ctx_train() const { return model_->hparams().n_ctx_train; }

int ModelRunner::n_ctx() const {
  return ctx_ ? ctx_->n_ctx() / std::max(1, options_.n_seq) : 0;
}

kernels::KernelSet ModelRunner::kernels() const {
  return kernels::default_matmul_options(pool_.get()).kernels;
}

namespace {

std::uint64_t kv_bytes(const model::Hparams& hp, std::uint64_t cells, model::KvType type,
                       int n_seq) {
  const hardware::ModelShape shape{0,
                                   static_cast<std::uint32_t>(hp.n_layer),
                                   static_cast<std::uint32_t>(hp.n_head_kv),
                                   static_cast<std::uint32_t>(hp.head_dim),
                                   static_cast<std::uint32_t>(hp.n_layer_swa()),
                                   static_cast<std::uint32_t>(hp.n_swa)};
  return hardware::kv_cache_bytes_per_block(
      shape, cells, static_cast<std::uint32_t>(model::kv_row_bytes(type, 32)),
      static_cast<std::uint64_t>(std::max(1, n_seq)));
}

hardware::ModelShape shape_of(const model::Hparams& hp, std::uint64_t file_bytes) {
  return {file_bytes,
          static_cast<std::uint32_t>(hp.n_layer),
          static_cast<std::uint32_t>(hp.n_head_kv),
          static_cast<std::uint32_t>(hp.head_dim),
          static_cast<std::uint32_t>(hp.n_layer_swa()),
          static_cast<std::uint32_t>(hp.n_swa)};
}

}  // namespace

int parse_gpu_layers(std::string_view text, std::string_view what) {
  if (text == "auto") return RunnerOptions::kGpuLayersAuto;
  if (text == "all") return -1;
  int n = 0;
  bool ok = !text.empty() && text.size() <= 6;
  for (char c : text) {
    ok = ok && c >= '0' && c <= '9';
    if (ok) n = n * 10 + (c - '0');
  }
  if (!ok)
    throw Error(ErrorKind::invalid_input, std::string(what) + "=" + std::string(text) +
                                              ": use auto, all or a number of layers (0: the CPU)");
  return n;
}

std::uint64_t ModelRunner::memory_bytes(int n_ctx, int n_seq) const {
  const auto cells = static_cast<std::uint64_t>(n_ctx) * static_cast<std::uint64_t>(n_seq);
  std::uint64_t adapter_bytes = 0;
  for (const model::AppliedLora& a : adapters_) adapter_bytes += a.adapter->bytes();
  return std::filesystem::file_size(path_) + adapter_bytes +
         kv_bytes(model_->hparams(), cells, options_.kv_type, n_seq);
}

std::uint64_t ModelRunner::kv_cache_bytes() const {
  if (!ctx_) return 0;
  return kv_bytes(model_->hparams(), static_cast<std::uint64_t>(ctx_->n_ctx()), options_.kv_type,
                  options_.n_seq);
}

int ModelRunner::n_gpu_layers() const { return ctx_ ? ctx_->n_gpu_layers() : 0; }

std::uint64_t ModelRunner::request_adapter_bytes() const { return request_adapters_->bytes(); }

std::vector<model::AppliedLora> ModelRunner::load_adapters(const Request& request) {
  std::vector<model::AppliedLora> applied;
  applied.reserve(request.adapters.size());
  for (const LoraFile& f : request.adapters)
    applied.push_back({request_adapters_->get(f.path, *model_), f.scale});
  return applied;
}

void ModelRunner::reserve(int n_ctx, int n_seq) {
  if (n_ctx < 1 || n_seq < 1)
    throw Error(ErrorKind::invalid_input, "the context needs at least one token and one sequence");
  seqs_.clear();
  ctx_.reset();  // the old cache goes before the new one is allocated
  options_.n_seq = n_seq;
  model::ContextOptions co;
  co.n_ctx = n_ctx * n_seq;
  co.n_seq_max = n_seq;
  co.kv_type = options_.kv_type;
  co.matmul = kernels::default_matmul_options(pool_.get());
  co.batch_invariant = options_.batch_invariant;
  co.adapters = adapters_;
  co.gpu_device = options_.gpu_device;
  co.gpu_layers = options_.gpu_layers;
  if (co.gpu_layers == RunnerOptions::kGpuLayersAuto) {
    std::string driver, note;
    const std::vector<hardware::GpuInfo> gpus = hardware::probe_gpus(&driver, &note);
    const hardware::GpuLayerPlan plan = hardware::plan_gpu_layers(
        gpus, note, shape_of(model_->hparams(), std::filesystem::file_size(path_)),
        static_cast<std::uint64_t>(co.n_ctx),
        static_cast<std::uint32_t>(model::kv_row_bytes(options_.kv_type, 32)),
        static_cast<std::uint64_t>(n_seq), config::get("HEARTH_VULKAN_CPU") == "1");
    spdlog::info("{}", plan.summary);
    co.gpu_layers = plan.layers;
    if (co.gpu_device < 0) co.gpu_device = plan.device;
  }
  ctx_ = std::make_unique<model::Context>(model_, co);
  seqs_.resize(static_cast<size_t>(n_seq));
  cached_.assign(static_cast<size_t>(n_seq), {});
  exact_.assign(static_cast<size_t>(n_seq), 0);
  owner_.assign(static_cast<size_t>(n_seq), {});
  slot_adapters_.assign(static_cast<size_t>(n_seq), {});
  used_.assign(static_cast<size_t>(n_seq), 0);
}

tokenizer::PromptText ModelRunner::render(const Request& request) const {
  // A raw prompt is the caller's own markup; messages, a templated prompt and the system text
  // are plain text in the template's markup (chat_template.h).
  if (request.messages.empty() && !request.apply_template) return chat_.raw(request.prompt);
  std::vector<chat::ChatMessage> messages;
  // `system` leads unless the conversation brings its own system message.
  const bool has_system = !request.messages.empty() && request.messages.front().role == "system";
  if (!request.system.empty() && !has_system) messages.push_back({"system", request.system});
  if (request.messages.empty()) {
    messages.push_back({"user", request.prompt});
  } else {
    messages.insert(messages.end(), request.messages.begin(), request.messages.end());
  }
  return chat_.render(std::move(messages), /*add_generation_prompt=*/true, request.chat);
}

model::Logits ModelRunner::feed(int slot, std::span<const int32_t> tokens, bool all_logits) {
  const auto batch_size = static_cast<size_t>(std::max(1, options_.max_batch));
  const int n_vocab = model_->n_vocab();
  std::vector<float> collected;
  model::Logits last;
  int pos = ctx_->n_past(slot);
  if (pos + static_cast<int64_t>(tokens.size()) > n_ctx())
    throw Error(ErrorKind::invalid_input,
                "the conversation needs " + std::to_string(pos + tokens.size()) +
                    " tokens but the context holds " + std::to_string(n_ctx()) +
                    "; start again or pass a larger --ctx");
  auto& cached = cached_[static_cast<size_t>(slot)];
  for (size_t start = 0; start < tokens.size(); start += batch_size) {
    const size_t end = std::min(tokens.size(), start + batch_size);
    std::vector<model::BatchEntry> batch;
    for (size_t i = start; i < end; ++i)
      batch.push_back({tokens[i], pos++, slot, all_logits || i + 1 == tokens.size()});
    last = ctx_->decode(batch);
    cached.insert(cached.end(), tokens.begin() + static_cast<std::ptrdiff_t>(start),
                  tokens.begin() + static_cast<std::ptrdiff_t>(end));
    if (all_logits)
      for (size_t r = 0; r < last.size(); ++r)
        collected.insert(collected.end(), last[r].begin(), last[r].end());
  }
  return all_logits ? model::Logits(n_vocab, std::move(collected)) : last;
}

int ModelRunner::truncate(int slot, int n) {
  const auto s = static_cast<size_t>(slot);
  const int kept = ctx_->keep_prefix(slot, n);
  if (cached_[s].size() > static_cast<size_t>(kept)) cached_[s].resize(static_cast<size_t>(kept));
  exact_[s] = std::min(exact_[s], static_cast<size_t>(kept));
  return kept;
}

void ModelRunner::clear(int slot) {
  ctx_->remove_sequence(slot);
  cached_[static_cast<size_t>(slot)].clear();
  exact_[static_cast<size_t>(slot)] = 0;
  seqs_[static_cast<size_t>(slot)].reset();
}

std::optional<Embedding> ModelRunner::embed(int slot, const std::vector<std::string>& inputs,
                                            int limit, bool truncate,
                                            const std::function<bool()>& cancelled) {
  Embedding result;
  // The slot is scratch here: a cached prompt it kept (prompt_cache) goes.
  if (!cached_[static_cast<size_t>(slot)].empty() || ctx_->n_past(slot) > 0) clear(slot);
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (cancelled && cancelled()) return std::nullopt;
    auto tokens = tokenizer().encode(chat_.plain(inputs[i]), false);
    if (tokens.empty())
      throw Error(ErrorKind::invalid_input, "input " + std::to_string(i) + " is empty");
    if (static_cast<int>(tokens.size()) > limit) {
      if (!truncate)
        throw Error(ErrorKind::invalid_input,
                    "input " + std::to_string(i) + " is " + std::to_string(tokens.size()) +
                        " tokens but the model's context is " + std::to_string(limit) +
                        " tokens; shorten it or allow truncation");
      tokens.resize(static_cast<size_t>(limit));
    }
    result.vectors.push_back(ctx_->embed(tokens, slot));
    result.prompt_tokens += static_cast<int>(tokens.size());
  }
  return result;
}

void validate(const Request& request) {
  sampler::validate(request.sampling);
  if (request.top_logprobs < 0 || request.top_logprobs > kMaxTopLogprobs)
    throw Error(ErrorKind::invalid_input,
                "top_logprobs must be between 0 and " + std::to_string(kMaxTopLogprobs));
}

std::uint64_t random_seed() { return sampler::Sampler::random_seed(); }

int32_t greedy_token(std::span<const float> logits) {
  return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

}  // namespace hearth::generate
