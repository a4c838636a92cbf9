#include "core/config.h"

#include <array>
#include <charconv>
#include <cstdlib>
#include <map>
#include <mutex>

#include "core/error.h"

namespace hearth::config {
namespace {

constexpr std::array<Setting, 33> kSettings = {{
    {"HEARTH_HOST", "--host", "127.0.0.1:11435", "address and port the server listens on"},
    {"HEARTH_HOME", "", "", "where models, the database and datasets live "
                            "(default $XDG_DATA_HOME/hearth, else ~/.local/share/hearth)"},
    {"HEARTH_AUTH", "--auth", "auto",
     "server authentication: auto (Bearer tokens needed beyond loopback or once a user exists) "
     "or required"},
    {"HEARTH_ALLOWED_HOSTS", "--allowed-hosts", "",
     "extra Host names a loopback server answers to besides localhost and its IPs, comma-separated "
     "(e.g. a name for 127.0.0.1 in /etc/hosts; * for any); guards against DNS rebinding"},
    {"HEARTH_ORIGINS", "--origins", "",
     "extra origins whose web pages may call the API, comma-separated (e.g. https://app.example, "
     "http://*.lan:*, null; * for any); localhost pages and app://, file://, tauri://, "
     "vscode-webview:// are always allowed"},
    {"HEARTH_WEB_DIR", "", "",
     "serve the pages from this folder (a `node src/web/build.mjs --out DIR` result's dist/) "
     "instead of the copy built into the binary: for working on the pages without rebuilding"},
    {"HEARTH_API_KEY", "", "",
     "API key the CLI sends to a running server that requires one (`hearth ps`)"},
    {"HEARTH_DB", "--db", "", "database URL: empty for SQLite in HEARTH_HOME, or postgresql://..."},
    {"HEARTH_KEY_FILE", "", "",
     "the master key that unlocks what users stored (0600, 32 bytes; made on first start; default "
     "HEARTH_HOME/secrets/master.key): keep a copy apart from backups"},
    {"HEARTH_PASSPHRASE", "", "",
     "derive the master key from this passphrase (argon2id) instead of a key file, for a new "
     "database or one set up so (`hearth keys rotate --passphrase`); asked on a terminal if unset"},
    {"HEARTH_KEEP_ALIVE", "--keep-alive", "5m", "how long an idle model stays loaded"},
    {"HEARTH_NUM_PARALLEL", "--parallel", "4", "sequences decoded together per loaded model"},
    {"HEARTH_MAX_QUEUE", "--max-queue", "512", "requests waiting before the server answers 503"},
    {"HEARTH_KV_CACHE", "", "f16",
     "number type of the server's KV cache: f16 (half the memory of f32), q8_0 (about 27% of "
     "f32; models whose head size is a multiple of 32) or f32 (exact: logprobs then equal "
     "`hearth logits` to 1e-4)"},
    {"HEARTH_GPU_LAYERS", "--gpu-layers", "auto",
     "how many of a model's layers run on the GPU (Vulkan): auto (as many as fit in the GPU's "
     "memory with their KV cache; the CPU when there is no GPU), all, or a number of the last "
     "layers (0: the CPU only). A CPU-type Vulkan device (Mesa's lavapipe) is used only with all, "
     "a number, or HEARTH_VULKAN_CPU=1. Ollama's num_gpu option sets it per model load"},
    {"HEARTH_VULKAN_CPU", "", "0",
     "1: --gpu-layers auto also uses a CPU-type Vulkan device (Mesa's lavapipe), for testing the "
     "GPU path on a machine without a GPU; it is slower than hearth's own CPU kernels"},
    {"HEARTH_AUTH_FAILURES", "--auth-failures", "10",
     "wrong API keys one client address may send within HEARTH_AUTH_WINDOW before further wrong "
     "keys from it are answered 429 with Retry-After (0: no limit); other addresses are not "
     "affected"},
    {"HEARTH_AUTH_WINDOW", "--auth-window", "60",
     "seconds over which HEARTH_AUTH_FAILURES is counted, from an address's first failure"},
    {"HEARTH_MAX_UPLOAD", "--max-upload", "512",
     "largest upload POST /v1/files accepts, in MiB (the request's whole body; beyond it 413)"},
    {"HEARTH_MAX_BLOB", "--max-blob", "65536",
     "largest blob POST /api/blobs/:digest accepts (model weights, adapters), in MiB (beyond it "
     "413)"},
    {"HEARTH_READ_TIMEOUT", "--read-timeout", "30",
     "seconds a client has to send a request's headers and body (slow senders are closed after "
     "it); an idle keep-alive connection is closed after it too"},
    {"HEARTH_THREADS", "--threads", "0", "compute threads (0: one per physical core)"},
    {"HEARTH_MMAP", "", "auto",
     "how model weights are held: auto reads them into memory on huge pages when they take at "
     "most half of the available memory (generation runs up to ~2x faster than from mapped "
     "page-cache pages on some machines), else maps the file; on always maps it (shared with "
     "other processes, instant when cached)"},
    {"HEARTH_LOG", "--log", "info", "log level: trace, debug, info, warn, error, off"},
    {"HEARTH_KERNELS", "", "auto",
     "compute kernels: auto (best for this CPU), avx512, avx2, or reference (portable scalar "
     "code with exact F32 arithmetic)"},
    {"HEARTH_HF_ENDPOINT", "", "https://huggingface.co",
     "Hugging Face base URL for catalog and hf:// pulls (a mirror, or a test server)"},
    {"HEARTH_TRAIN_MEMORY", "", "",
     "memory a training run may use, in MiB (empty: what the system has available); a run whose "
     "plan needs more recomputes its activations or is refused"},
    {"HEARTH_TRAIN_THREADS", "", "0",
     "threads of the server's background training jobs (0: half the cores, at least one), so "
     "that serving stays responsive while a job trains"},
    {"HEARTH_TRAIN_NICE", "", "10",
     "the nice value (0..19) of the server's training jobs: the system runs them after "
     "everything else"},
    {"HEARTH_TRAIN_CHECKPOINT_EVERY", "", "10",
     "steps between the checkpoints of a server training job (a crash loses at most these)"},
    {"HEARTH_ALLOW_PRIVATE_URLS", "", "0",
     "1: URL pulls asked for through the server's API may download from loopback, private, "
     "link-local and other non-public addresses (otherwise refused, redirects included, and "
     "fetched without a proxy); the hearth command's own pulls are never limited"},
    {"HEARTH_REMOTE_HEALTH_INTERVAL", "", "15",
     "seconds between the server's health checks of each remote engine (`hearth remote`): "
     "GET /models, which also lists the models of an engine added without --models"},
    {"HEARTH_REMOTE_COOLDOWN", "", "30",
     "seconds a remote engine is left alone after 3 failures in a row, before one health check "
     "or chat tries it again"},
}};

std::mutex overrides_mutex;
std::map<std::string, std::string, std::less<>> overrides;

const Setting& find(std::string_view env) {
  for (const auto& s : kSettings)
    if (s.env == env) return s;
  HEARTH_ASSERT(false, "configuration setting not declared in the table");
}

}  // namespace

std::span<const Setting> settings() { return kSettings; }

std::string get(std::string_view env) {
  const Setting& s = find(env);
  {
    std::lock_guard lock(overrides_mutex);
    if (auto it = overrides.find(env); it != overrides.end()) return it->second;
  }
  std::string name(s.env);
  if (const char* v = std::getenv(name.c_str()); v != nullptr && *v != '\0') return v;
  return std::string(s.default_value);
}

long long get_int(std::string_view env, long long min, long long max) {
  std::string text = get(env);
  long long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max)
    throw Error(ErrorKind::invalid_input, std::string(env) + "=" + text + " must be a whole number from " +
                                              std::to_string(min) + " to " + std::to_string(max));
  return value;
}

void set_override(std::string_view env, std::string value) {
  find(env);
  std::lock_guard lock(overrides_mutex);
  // An empty value removes the override: the environment or the default applies again.
  if (value.empty()) overrides.erase(std::string(env));
  else overrides.insert_or_assign(std::string(env), std::move(value));
}

}  // namespace hearth::config
