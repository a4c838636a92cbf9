// See checkpoint.h.
#include "train/checkpoint.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/json_text.h"
#include "engine/gguf/gguf.h"

namespace hearth::train {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr std::string_view kPrefix = "step-";

// The step of a checkpoint folder's name, or -1.
int64_t step_of(const fs::path& folder) {
  const std::string name = folder.filename().string();
  if (name.rfind(kPrefix, 0) != 0) return -1;
  int64_t step = -1;
  const char* first = name.data() + kPrefix.size();
  const auto [end, ec] = std::from_chars(first, name.data() + name.size(), step);
  return ec == std::errc() && end == name.data() + name.size() ? step : -1;
}

// Checkpoint folders of `dir`, newest first.
std::vector<fs::path> folders(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.is_directory() && step_of(entry.path()) >= 0) out.push_back(entry.path());
  std::sort(out.begin(), out.end(),
            [](const fs::path& a, const fs::path& b) { return step_of(a) > step_of(b); });
  return out;
}

std::span<const uint8_t> bytes(const std::vector<float>& v) {
  return {reinterpret_cast<const uint8_t*>(v.data()), v.size() * sizeof(float)};
}

json::object state_json(const RunState& r) {
  json::object o{{"step", r.step},
                 {"tokens", r.tokens},
                 {"elapsed_s", r.elapsed_s},
                 {"best_step", r.best_step},
                 {"evals_since_best", r.evals_since_best},
                 {"settings", r.settings}};
  o["best_eval_loss"] = r.best_eval_loss ? json::value(*r.best_eval_loss) : json::value(nullptr);
  return o;
}

RunState state_from(const json::value& v, const std::string& where) {
  try {
    const json::object& o = v.as_object();
    RunState r;
    r.step = o.at("step").to_number<int64_t>();
    r.tokens = o.at("tokens").to_number<int64_t>();
    r.elapsed_s = o.at("elapsed_s").to_number<double>();
    r.best_step = o.at("best_step").to_number<int64_t>();
    r.evals_since_best = o.at("evals_since_best").to_number<int64_t>();
    if (!o.at("best_eval_loss").is_null()) r.best_eval_loss = o.at("best_eval_loss").to_number<double>();
    r.settings = o.at("settings").as_object();
    return r;
  } catch (const std::exception& e) {
    throw Error(ErrorKind::corrupt_file, where + ": the run's state cannot be read: " + e.what());
  }
}

// The moments of pair i's factor `which` ("a" or "b") from the state file.
std::vector<float> moment(const gguf::File& file, const std::string& name, size_t expected) {
  const gguf::TensorInfo* t = file.find_tensor(name);
  if (t == nullptr || t->type != gguf::TensorType::f32 ||
      static_cast<size_t>(t->n_elements()) != expected)
    throw Error(ErrorKind::corrupt_file,
                file.name() + ": optimizer moment '" + name + "' is missing or has the wrong shape");
  const auto data = file.tensor_data(*t);
  std::vector<float> out(expected);
  std::memcpy(out.data(), data.data(), expected * sizeof(float));
  return out;
}

}  // namespace

void write_checkpoint(const fs::path& dir, const Checkpoint& c, const crypto::DataKey* seal) {
  const fs::path folder = dir / (std::string(kPrefix) + std::to_string(c.run.step));
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) throw Error(ErrorKind::io, "cannot make " + folder.string() + ": " + ec.message());
  // A folder of the same step (an earlier run cut short) is written over: state.gguf goes first,
  // so that it is never taken for complete with the new files half in place.
  fs::remove(folder / "state.gguf", ec);
  write_adapter(c.adapter, folder / "adapter.gguf", seal);
  if (c.best) write_adapter(*c.best, folder / "best.gguf", seal);

  gguf::Writer writer;
  writer.set("general.type", gguf::Value::of_string("hearth.train.state"));
  writer.set("train.step", gguf::Value::of_u64(static_cast<uint64_t>(c.optimizer.step)));
  writer.set("train.state", gguf::Value::of_string(format_json(state_json(c.run))));
  const auto& o = c.optimizer;
  if (o.m.a.size() != c.adapter.weights.size() || o.v.a.size() != c.adapter.weights.size())
    throw Error(ErrorKind::internal, "the optimizer state does not fit the adapter");
  for (size_t i = 0; i < c.adapter.weights.size(); ++i) {
    const std::string& w = c.adapter.weights[i].base;
    auto add = [&](const std::string& suffix, const std::vector<float>& v) {
      writer.add_tensor(w + suffix, gguf::TensorType::f32, {static_cast<int64_t>(v.size())}, bytes(v));
    };
    add(".lora_a.m", o.m.a[i]);
    add(".lora_a.v", o.v.a[i]);
    add(".lora_b.m", o.m.b[i]);
    add(".lora_b.v", o.v.b[i]);
  }
  writer.write(folder / "state.gguf", seal);

  for (const fs::path& old : folders(dir))
    if (step_of(old) != c.run.step) fs::remove_all(old, ec);
}

std::optional<Checkpoint> read_latest_checkpoint(const fs::path& dir) {
  for (const fs::path& folder : folders(dir)) {
    std::error_code ec;
    if (!fs::exists(folder / "state.gguf", ec) || !fs::exists(folder / "adapter.gguf", ec))
      continue;  // cut short before it was complete
    Checkpoint c;
    c.adapter = read_adapter(folder / "adapter.gguf");
    if (fs::exists(folder / "best.gguf", ec)) c.best = read_adapter(folder / "best.gguf");
    const gguf::File state = gguf::File::open(folder / "state.gguf");
    const auto text = state.get_string("train.state");
    const auto step = state.get_int("train.step");
    std::string error;
    const auto parsed = text ? parse_json(*text, &error) : std::nullopt;
    if (!parsed || !step)
      throw Error(ErrorKind::corrupt_file, state.name() + ": not a training state " + error);
    c.run = state_from(*parsed, state.name());
    c.optimizer.step = *step;
    c.optimizer.m = LoraGradients::like(c.adapter);
    c.optimizer.v = LoraGradients::like(c.adapter);
    for (size_t i = 0; i < c.adapter.weights.size(); ++i) {
      const LoraWeight& p = c.adapter.weights[i];
      c.optimizer.m.a[i] = moment(state, p.base + ".lora_a.m", p.a.size());
      c.optimizer.v.a[i] = moment(state, p.base + ".lora_a.v", p.a.size());
      c.optimizer.m.b[i] = moment(state, p.base + ".lora_b.m", p.b.size());
      c.optimizer.v.b[i] = moment(state, p.base + ".lora_b.v", p.b.size());
    }
    return c;
  }
  return std::nullopt;
}

}  // namespace hearth::train
