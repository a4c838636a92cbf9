#include "reference.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "support/json_test_util.h"
#include "support/test_support.h"

namespace hearth::model::test {

namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

constexpr int kMaxReportedFailures = 12;  // per checker; the count of the rest is reported

TopList top_list(const json::value& j) {
  TopList out;
  for (const json::value& pair : j.as_array())
    out.emplace_back(json::value_to<int>(pair.as_array().at(0)),
                     json::value_to<float>(pair.as_array().at(1)));
  return out;
}

template <typename T>
T field(const json::value& object, std::string_view key) {
  return json::value_to<T>(object.as_object().at(key));
}

std::vector<float> read_f32(const fs::path& path, int n) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  std::vector<float> v(static_cast<size_t>(n));
  in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(n * sizeof(float)));
  if (in.gcount() != static_cast<std::streamsize>(n * sizeof(float)))
    throw std::runtime_error(path.string() + " is shorter than n_vocab floats");
  return v;
}

Reference parse_reference(const fs::path& json_path) {
  if (!fs::exists(json_path)) throw std::runtime_error("cannot open " + json_path.string());
  const json::value j = hearth::test::json_from(hearth::test::read_file(json_path));
  Reference r;
  r.file = json_path.filename().string();
  r.n_vocab = field<int>(j, "n_vocab");
  if (const json::value* tol = j.as_object().if_contains("tolerance"))
    r.tolerance = json::value_to<float>(*tol);
  for (const json::value& c : j.as_object().at("cases").as_array()) {
    RefCase rc;
    rc.name = field<std::string>(c, "name");
    rc.prompt = field<std::string>(c, "prompt");
    rc.tokens = field<std::vector<int>>(c, "tokens");
    for (const json::value& t : c.as_object().at("top10_per_position").as_array())
      rc.top10.push_back(top_list(t));
    rc.top1_margin = field<std::vector<float>>(c, "top1_margin_per_position");
    rc.last_logits =
        read_f32(json_path.parent_path() / field<std::string>(c, "last_logits_file"), r.n_vocab);
    rc.greedy = field<std::vector<int>>(c, "greedy");
    for (const json::value& t : c.as_object().at("greedy_step_top10").as_array())
      rc.greedy_top10.push_back(top_list(t));
    rc.greedy_margin = field<std::vector<float>>(c, "greedy_margins");
    r.cases.push_back(std::move(rc));
  }
  return r;
}

}  // namespace

const Reference& load_reference(const fs::path& json_path) {
  static std::mutex mutex;
  static std::map<std::string, Reference> cache;
  const std::lock_guard lock(mutex);
  auto it = cache.find(json_path.string());
  if (it == cache.end()) it = cache.emplace(json_path.string(), parse_reference(json_path)).first;
  return it->second;
}

int argmax(std::span<const float> logits) {
  int best = 0;
  for (size_t i = 1; i < logits.size(); ++i)
    if (logits[i] > logits[static_cast<size_t>(best)]) best = static_cast<int>(i);
  return best;
}

void Checker::fail(const std::string& message) {
  ++failures_;
  if (failures_ <= kMaxReportedFailures) {
    ADD_FAILURE() << label_ << ": " << message;
  } else if (failures_ == kMaxReportedFailures + 1) {
    ADD_FAILURE() << label_ << ": further failures are counted but not shown";
  }
}

void Checker::record(const RefCase& c, float d) {
  if (std::isnan(d)) d = INFINITY;
  max_diff_ = std::max(max_diff_, d);
  float& m = case_max_[c.name];
  m = std::max(m, d);
}

void Checker::check_top10(const RefCase& c, const std::string& where, const TopList& ref,
                          std::span<const float> logits) {
  for (const auto& [id, ref_value] : ref) {
    const float got = logits[static_cast<size_t>(id)];
    const float d = std::fabs(got - ref_value);
    record(c, d);
    if (!(d <= tol_)) {
      std::ostringstream m;
      m.precision(9);
      m << c.name << " " << where << " id " << id << ": got " << got << ", reference " << ref_value
        << ", |diff| " << d << " > tol " << tol_;
      fail(m.str());
    }
  }
}

void Checker::check_top1(const RefCase& c, const std::string& where, int ref_id, float margin,
                         std::span<const float> logits) {
  const int got = argmax(logits);
  if (got == ref_id || margin <= 2 * tol_) return;
  std::ostringstream m;
  m.precision(9);
  m << c.name << " " << where << ": top-1 id " << got << " (logit " << logits[got]
    << "), reference top-1 id " << ref_id << " (our logit " << logits[ref_id] << ") with margin "
    << margin << " > 2·tol " << 2 * tol_;
  fail(m.str());
}

void Checker::prompt_position(const RefCase& c, int pos, std::span<const float> logits) {
  const std::string where = "prompt position " + std::to_string(pos);
  const TopList& ref = c.top10[static_cast<size_t>(pos)];
  check_top10(c, where, ref, logits);
  check_top1(c, where, ref[0].first, c.top1_margin[static_cast<size_t>(pos)], logits);
  if (pos + 1 != static_cast<int>(c.tokens.size())) return;
  // Last position: greedy step 0 comes from it, and the whole vocabulary is compared.
  greedy_step(c, 0, logits);
  int n_bad = 0, worst = 0;
  float worst_d = 0;
  for (size_t id = 0; id < c.last_logits.size(); ++id) {
    const float d = std::fabs(logits[id] - c.last_logits[id]);
    record(c, d);
    if (!(d <= tol_)) ++n_bad;
    if (!(d <= worst_d)) {
      worst_d = d;
      worst = static_cast<int>(id);
    }
  }
  if (n_bad > 0) {
    std::ostringstream m;
    m.precision(9);
    m << c.name << " last position (" << pos << "), full vocabulary: " << n_bad << " ids over tol "
      << tol_ << "; worst id " << worst << ": got " << logits[worst] << ", reference "
      << c.last_logits[static_cast<size_t>(worst)];
    fail(m.str());
  }
}

void Checker::greedy_step(const RefCase& c, int k, std::span<const float> logits) {
  const std::string where = "greedy step " + std::to_string(k);
  const size_t ks = static_cast<size_t>(k);
  check_top10(c, where, c.greedy_top10[ks], logits);
  check_top1(c, where, c.greedy[ks], c.greedy_margin[ks], logits);
  if (argmax(logits) != c.greedy[ks] && (first_divergence_ < 0 || k < first_divergence_))
    first_divergence_ = k;
}

}  // namespace hearth::model::test
