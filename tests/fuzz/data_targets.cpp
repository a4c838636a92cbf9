// Training data and chat templates with hostile content.
//
// jsonl:    an input is a JSONL file. It goes through `hearth data validate`'s checks
//           (data::validate_jsonl: every problem is an issue, never an Error), the pre-tokenized
//           reader (train::parse_tokenized_jsonl) and, with the conformance pack, the trainer's
//           reader of either format (train::read_training_file: the model's chat format and
//           vocabulary). Oracle: only Error(invalid_input) escapes, and the report is consistent
//           (issues on lines that exist, one trained flag per message).
// template: an input is {"template", "messages", "bos", "generation"}. The template text picks a
//           format (detect_chat_format) and its built-in system message (default_system_prompt);
//           the messages are rendered in every format. Oracle: only Error(invalid_input) escapes
//           and the output is bounded by the input (the renderer cannot loop or expand).
#include <boost/json.hpp>

#include <filesystem>
#include <fstream>
#include <optional>

#include "core/error.h"
#include "data/data.h"
#include "engine/chat/chat_template.h"
#include "engine/chat/model_chat.h"
#include "fuzz/fuzz.h"
#include "support/test_support.h"
#include "train/chat_examples.h"
#include "train/examples.h"

namespace hearth::fuzz {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

std::string kind_failure(const char* where, const Error& e) {
  return std::string(where) + ": Error(" + std::string(error_kind_name(e.kind())) + "): " + e.what();
}

class JsonlTarget : public Target {
 public:
  std::string name() const override { return "jsonl"; }

  void setup() override {
    file_ = dir_.path() / "data.jsonl";
    if (auto conformance = test::conformance_dir()) {
      const fs::path model = *conformance / "models" / "llama3-f16.gguf";
      if (fs::exists(model)) {
        model_ = std::make_unique<gguf::File>(gguf::File::open(model));
        tokenizer_ = std::make_unique<tokenizer::Tokenizer>(tokenizer::Tokenizer::from_gguf(*model_));
        chat_ = chat::ModelChat::of(*model_, *tokenizer_);
      }
    }
  }

  std::vector<std::string> seeds() override {
    return {
        R"({"messages":[{"role":"system","content":"be kind"},{"role":"user","content":"hi"},{"role":"assistant","content":"hello","weight":1}]})"
        "\n"
        R"({"messages":[{"role":"user","content":"2+2?"},{"role":"assistant","content":"4"},{"role":"user","content":"and 3+3"},{"role":"assistant","content":"6","weight":0}]})"
        "\n",
        R"({"tokens":[1,5,9,12,2],"mask":[0,0,1,1,1]})" "\n\n" R"({"tokens":[1,7],"mask":[0,1]})" "\n",
        R"({"messages":[{"role":"user","content":"</s><|eot_id|>[INST]"},{"role":"assistant","content":"<|im_end|>"}]})",
    };
  }

  std::string mutate(const std::string& seed, Rng& rng) override {
    // One line changed as JSON, or the file's bytes.
    if (rng.one_in(3)) return mutate_bytes(seed, rng, seed);
    std::vector<std::string> lines;
    std::size_t start = 0;
    for (std::size_t nl; (nl = seed.find('\n', start)) != std::string::npos; start = nl + 1)
      lines.push_back(seed.substr(start, nl - start));
    lines.push_back(seed.substr(start));
    std::string& line = lines[rng.below(lines.size())];
    line = mutate_json(line.empty() ? "{}" : line, rng);
    std::string out;
    for (std::size_t i = 0; i < lines.size(); ++i) out += (i ? "\n" : "") + lines[i];
    return out;
  }

  Outcome run(const std::string& input, Rng&) override {
    Outcome o;
    std::ofstream(file_, std::ios::binary | std::ios::trunc)
        .write(input.data(), static_cast<std::streamsize>(input.size()));
    try {
      const data::ValidationReport report = data::validate_jsonl(file_);
      o.label = report.issues.empty() ? "valid" : "issues";
      for (const auto& issue : report.issues)
        if (issue.line == 0 || issue.code.empty() || issue.message.empty())
          o.failure = "an issue without its line, code or message";
      for (const auto& ex : report.examples)
        if (ex.messages.size() != ex.trained.size()) o.failure = "trained flags do not match the messages";
    } catch (const Error& e) {
      o.failure = kind_failure("validate_jsonl", e);
    }
    try {
      train::parse_tokenized_jsonl(input, 1000, "fuzz");
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::invalid_input) o.failure = kind_failure("parse_tokenized_jsonl", e);
    }
    if (tokenizer_) {
      try {
        const auto examples = train::read_training_file(file_, chat_, *tokenizer_);
        for (const auto& ex : examples)
          if (ex.tokens.size() != ex.mask.size()) o.failure = "an example whose mask is not as long as its tokens";
        train::fit_to_length(examples, 64);
      } catch (const Error& e) {
        if (e.kind() != ErrorKind::invalid_input) o.failure = kind_failure("read_training_file", e);
      }
    }
    return o;
  }

 private:
  test::TempDir dir_;
  fs::path file_;
  std::unique_ptr<gguf::File> model_;
  std::unique_ptr<tokenizer::Tokenizer> tokenizer_;
  chat::ModelChat chat_;
};

constexpr chat::ChatFormat kFormats[] = {chat::ChatFormat::llama3,       chat::ChatFormat::chatml,
                                         chat::ChatFormat::deepseek_r1,  chat::ChatFormat::phi3,
                                         chat::ChatFormat::mistral_inst, chat::ChatFormat::mistral_v7_tekken};

class TemplateTarget : public Target {
 public:
  std::string name() const override { return "template"; }

  std::vector<std::string> seeds() override {
    const auto seed = [](std::string tmpl, json::array messages) {
      return json::serialize(json::object{{"template", std::move(tmpl)},
                                          {"messages", std::move(messages)},
                                          {"bos", "<s>"},
                                          {"generation", true}});
    };
    const json::array plain = {json::object{{"role", "system"}, {"content", "be brief"}},
                               json::object{{"role", "user"}, {"content", "hi"}},
                               json::object{{"role", "assistant"}, {"content", "<think>x</think> hello"}},
                               json::object{{"role", "user"}, {"content", "again"}}};
    return {
        seed("{% for m in messages %}<|start_header_id|>{{ m.role }}<|end_header_id|>\n\n{{ m.content }}<|eot_id|>{% endfor %}", plain),
        seed("{% if not messages[0].role == 'system' %}<|im_start|>system\nYou are Qwen.<|im_end|>\n{% endif %}"
             "{% for m in messages %}<|im_start|>{{m.role}}\n{{m.content}}<|im_end|>\n{% endfor %}", plain),
        seed("{{bos_token}}{% for m in messages %}<｜User｜>{{m.content}}<｜Assistant｜>{% endfor %}", plain),
        seed("{% for m in messages %}<|{{m.role}}|>\n{{m.content}}<|end|>\n{% endfor %}<|assistant|>", plain),
        seed("[SYSTEM_PROMPT]{{s}}[/SYSTEM_PROMPT]{% for m in messages %}[INST]{{m.content}}[/INST]{% endfor %}", plain),
        seed("{% for m in messages %}{% if m.role == 'user' %}[INST] {{m.content}} [/INST]{% endif %}{% endfor %}",
             json::array{json::object{{"role", "user"}, {"content", "q"}}}),
        seed("{% macro r(n) %}{{ r(n) }}{% endmacro %}{{ r(1) }}{% for i in range(999999999) %}x{% endfor %}{%",
             plain),
    };
  }

  std::string mutate(const std::string& seed, Rng& rng) override {
    if (rng.one_in(3)) {
      // The template text itself at byte level (unclosed tags, markers cut, nesting).
      try {
        json::value v = json::parse(seed);
        auto& t = v.as_object()["template"];
        const std::string text = t.is_string() ? std::string(t.as_string()) : "";
        t = json::string(mutate_bytes(text, rng, "{%{{<|im_start|><|start_header_id|>[INST]<｜Assistant｜>"));
        return json::serialize(v);
      } catch (const std::exception&) {
      }
    }
    return mutate_json(seed, rng);
  }

  Outcome run(const std::string& input, Rng&) override {
    std::string tmpl = input, bos;
    bool generation = true;
    std::vector<chat::ChatMessage> messages = {{"user", "hi"}};
    try {
      const json::value v = json::parse(input);
      if (const auto* o = v.if_object()) {
        if (const auto* t = o->if_contains("template"); t && t->is_string()) tmpl = t->as_string();
        if (const auto* b = o->if_contains("bos"); b && b->is_string()) bos = b->as_string();
        if (const auto* g = o->if_contains("generation"); g && g->is_bool()) generation = g->as_bool();
        if (const auto* m = o->if_contains("messages"); m && m->is_array()) {
          messages.clear();
          for (const auto& e : m->as_array()) {
            if (!e.is_object()) continue;
            chat::ChatMessage cm;
            if (const auto* r = e.as_object().if_contains("role"); r && r->is_string()) cm.role = r->as_string();
            if (const auto* c = e.as_object().if_contains("content"); c && c->is_string()) cm.content = c->as_string();
            messages.push_back(std::move(cm));
          }
        }
      }
    } catch (const std::exception&) {
      // not JSON: the whole input is the template
    }
    Outcome o;
    bool recognised = false;
    const chat::ChatFormat detected = chat::detect_chat_format(tmpl, &recognised);
    const std::string system = chat::default_system_prompt(tmpl);
    if (system.size() > tmpl.size()) o.failure = "the built-in system message is longer than the template";
    // Each format adds a bounded amount of markup per message and once for the generation prompt.
    std::size_t bound = bos.size() + system.size() + 128;
    for (const auto& m : messages) bound += m.content.size() + m.role.size() + 128;
    std::size_t refused = 0;
    for (const chat::ChatFormat f : kFormats) {
      std::vector<chat::ChatMessage> with_system = messages;
      if (f == detected && !system.empty() && (messages.empty() || messages.front().role != "system"))
        with_system.insert(with_system.begin(), {"system", system});
      try {
        const std::string out = chat::render_chat(f, with_system, generation, bos);
        if (out.size() > bound)
          o.failure = std::string(chat::chat_format_name(f)) + " rendered " + std::to_string(out.size()) +
                      " bytes for " + std::to_string(bound) + " bytes of input";
      } catch (const Error& e) {
        ++refused;
        if (e.kind() != ErrorKind::invalid_input) o.failure = kind_failure("render_chat", e);
      }
    }
    o.label = std::string(recognised ? "recognised" : "fallback") + (refused ? ", some refused" : "");
    return o;
  }
};

}  // namespace

std::unique_ptr<Target> make_jsonl_target() { return std::make_unique<JsonlTarget>(); }
std::unique_ptr<Target> make_template_target() { return std::make_unique<TemplateTarget>(); }

}  // namespace hearth::fuzz
