#include "cli/bench_text.h"

#include <string_view>

namespace hearth::cli {
namespace {

constexpr std::string_view kSample = R"SAMPLE(The quick brown fox jumps over the lazy dog. In 1969, Apollo 11 landed on the Moon; the crew returned on July 24th after 8 days, 3 hours and 18 minutes.
It's a truth universally acknowledged that we'll keep writing tests, isn't it? They're cheap, you've seen them catch bugs, and I'd rather not ship without them.

def fibonacci(n: int) -> int:
    """Return the n-th Fibonacci number."""
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a

for (size_t i = 0; i < rows; ++i) { y[i] = dot(&w[i * cols], x, cols) + bias[i]; }
{"model": "llama3.2:3b", "messages": [{"role": "user", "content": "Hi!"}], "temperature": 0.7, "max_tokens": 256}
Prices: $19.99, €24.50, ¥3000 — totals 3.14159 * 2.71828 ≈ 8.5397; 100% sure? 12,345,678 items.
Café déjà vu, naïve façade, Straße über Äpfel, señor piñata, Ça va très bien, Ørsted og Æblegrød.
Съешь же ещё этих мягких французских булок, да выпей чаю. Москва — столица России.
東京タワーは東京都港区にある電波塔です。你好，世界！今天天气很好，我们去公园散步吧。
안녕하세요, 세계! 오늘은 날씨가 좋네요. مرحبا بالعالم، كيف حالك اليوم؟
Emoji: 🦙🚀👩‍💻 👍🏽 🇫🇷 1️⃣ ❤️ — tabs	and   multiple    spaces	here.
https://example.com/path?query=value&lang=en#section user.name+tag@example.org __init__ __main__
)SAMPLE";

}  // namespace

std::string mixed_bench_text(size_t n_bytes) {
  std::string text;
  text.reserve(n_bytes + kSample.size());
  while (text.size() < n_bytes) text.append(kSample);
  size_t cut = n_bytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  text.resize(cut);
  return text;
}

}  // namespace hearth::cli
