// The conformance references of shared/conformance/models and the comparison recipe of its
// README §5.2, as a small checker that reports every disagreement with the model, case,
// position, token id and both values.
#pragma once

#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace hearth::model::test {

using TopList = std::vector<std::pair<int, float>>;  // (id, logit), best first

struct RefCase {
  std::string name;  // "P1", ...
  std::string prompt;
  std::vector<int> tokens;
  std::vector<TopList> top10;         // per prompt position
  std::vector<float> top1_margin;     // per prompt position
  std::vector<float> last_logits;     // n_vocab values of the last prompt position
  std::vector<int> greedy;            // 24 ids
  std::vector<TopList> greedy_top10;  // per greedy step
  std::vector<float> greedy_margin;   // per greedy step
};

struct Reference {
  std::string file;  // the .ref.json file name
  int n_vocab = 0;
  float tolerance = 0;  // the reference's own "tolerance" (arch/), 0 when it states none
  std::vector<RefCase> cases;
};

// Reads a .ref.json (or .dequant-f32.ref.json) and the .f32 files it names (cached: each file
// is parsed once per process).
const Reference& load_reference(const std::filesystem::path& json_path);

// Applies §5.2 with one tolerance. Teacher forcing: the caller feeds the reference's greedy ids,
// so every greedy step is compared; rule 4 is then implied by the near-tie rule at each step.
class Checker {
 public:
  Checker(std::string label, float tol) : label_(std::move(label)), tol_(tol) {}

  // Rules 2 and 3 at prompt position `pos`; at the last position also the full vector.
  void prompt_position(const RefCase& c, int pos, std::span<const float> logits);
  // Rules 2 and 3 (hence 4) at greedy step k, whose logits came from feeding greedy[0..k).
  void greedy_step(const RefCase& c, int k, std::span<const float> logits);

  float max_abs_diff() const { return max_diff_; }
  // Max |diff| per case name, over everything compared.
  const std::map<std::string, float>& max_abs_diff_per_case() const { return case_max_; }
  int failures() const { return failures_; }
  // First greedy step whose own argmax differs from the reference id (-1: none), over all cases.
  int first_greedy_divergence() const { return first_divergence_; }

 private:
  void check_top10(const RefCase& c, const std::string& where, const TopList& ref,
                   std::span<const float> logits);
  void check_top1(const RefCase& c, const std::string& where, int ref_id, float margin,
                  std::span<const float> logits);
  void fail(const std::string& message);
  void record(const RefCase& c, float d);

  std::string label_;
  float tol_;
  float max_diff_ = 0;
  std::map<std::string, float> case_max_;
  int failures_ = 0;
  int first_divergence_ = -1;
};

// The id of the largest value, lowest id on ties (the reference's greedy rule).
int argmax(std::span<const float> logits);

}  // namespace hearth::model::test
