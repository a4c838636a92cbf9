// JSON Schema constrained output (json_schema.h): what the checker accepts and refuses byte by
// byte, its shortest completions, $ref loops, and the keywords it refuses by name.
#include "engine/generate/json_schema.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <random>
#include <string>

#include "core/error.h"

namespace hearth::generate {
namespace {

bool accepts(const std::string& schema, const std::string& text) {
  auto s = compile_json_schema(schema);
  JsonSchemaState st(*s);
  return st.feed(text) && st.complete();
}

// Whether `text` can still become a valid value (a prefix).
bool prefix_ok(const std::string& schema, const std::string& text) {
  auto s = compile_json_schema(schema);
  JsonSchemaState st(*s);
  return st.feed(text);
}

std::string refusal(const std::string& schema) {
  try {
    compile_json_schema(schema);
  } catch (const Error& e) {
    return std::string(error_kind_name(e.kind())) + ": " + e.what();
  }
  return "compiled";
}

TEST(JsonSchema, Types) {
  EXPECT_TRUE(accepts(R"({"type":"string"})", R"("hi")"));
  EXPECT_FALSE(prefix_ok(R"({"type":"string"})", "1"));
  EXPECT_TRUE(accepts(R"({"type":"integer"})", "-12"));
  EXPECT_FALSE(prefix_ok(R"({"type":"integer"})", "1."));
  EXPECT_TRUE(accepts(R"({"type":"number"})", "1.5e3"));
  EXPECT_TRUE(accepts(R"({"type":"boolean"})", "false"));
  EXPECT_FALSE(prefix_ok(R"({"type":"boolean"})", "nu"));
  EXPECT_TRUE(accepts(R"({"type":"null"})", "null"));
  EXPECT_TRUE(accepts(R"({"type":["string","null"]})", "null"));
  EXPECT_TRUE(accepts(R"({"type":["string","null"]})", R"("x")"));
  EXPECT_TRUE(accepts(R"({"type":"string","nullable":true})", "null"));
  EXPECT_TRUE(accepts(R"({})", R"([1,{"a":[true,null]},"s"])"));
  EXPECT_TRUE(accepts(R"({"type":"object"})", R"({"any": {"thing": [1]}})"));
  EXPECT_FALSE(prefix_ok(R"({"type":"object"})", "["));
}

TEST(JsonSchema, ObjectsKeepTheSchemaOrderAndRequiredKeys) {
  const std::string s = R"({"type":"object","properties":{"a":{"type":"integer"},
      "b":{"type":"string"},"c":{"type":"boolean"}},"required":["b"],
      "additionalProperties":false})";
  EXPECT_TRUE(accepts(s, R"({"a": 1, "b": "x", "c": true})"));
  EXPECT_TRUE(accepts(s, R"({"b":"x"})"));
  EXPECT_FALSE(accepts(s, R"({"a":1})")) << "b is required";
  EXPECT_FALSE(prefix_ok(s, R"({"a":1,"c")")) << "c would skip the required b";
  EXPECT_FALSE(prefix_ok(s, R"({"b":"x","a")")) << "keys come in the schema's order";
  EXPECT_FALSE(prefix_ok(s, R"({"d")")) << "no other keys";
  EXPECT_FALSE(prefix_ok(s, R"({})"));
  EXPECT_FALSE(prefix_ok(s, R"({"b":"x","b")")) << "no key twice";
  const std::string extra = R"({"type":"object","properties":{"a":{"type":"integer"}},
      "required":["a"],"additionalProperties":{"type":"number"}})";
  EXPECT_TRUE(accepts(extra, R"({"a":1,"zz":2.5,"y":3})"));
  EXPECT_FALSE(prefix_ok(extra, R"({"a":1,"zz":"s")"));
  EXPECT_FALSE(prefix_ok(extra, R"({"zz":1)")) << "other keys only after the required ones";
  EXPECT_FALSE(prefix_ok(extra, R"({"a":1,"a":)")) << "a declared name is not an other key";
}

TEST(JsonSchema, EnumsConstsArraysStringsNumbers) {
  EXPECT_TRUE(accepts(R"({"enum":["red","green",3,null]})", R"("green")"));
  EXPECT_TRUE(accepts(R"({"enum":["red","green",3,null]})", "3"));
  EXPECT_FALSE(prefix_ok(R"({"enum":["red","green"]})", R"("blue")"));
  EXPECT_TRUE(accepts(R"({"enum":[1,12]})", "1"));
  EXPECT_TRUE(accepts(R"({"type":"array","items":{"enum":[1,12]}})", "[12,1]"));
  EXPECT_TRUE(accepts(R"({"const":{"k":[1,2]}})", R"({"k":[1,2]})"));
  const std::string arr = R"({"type":"array","items":{"type":"integer"},"minItems":2,"maxItems":3})";
  EXPECT_FALSE(accepts(arr, "[1]"));
  EXPECT_TRUE(accepts(arr, "[1, 2]"));
  EXPECT_FALSE(prefix_ok(arr, "[1,2,3,"));
  const std::string str = R"({"type":"string","minLength":2,"maxLength":3})";
  EXPECT_FALSE(accepts(str, R"("a")"));
  EXPECT_TRUE(accepts(str, R"("\u00e9\n")"));
  EXPECT_TRUE(accepts(str, "\"\xc3\xa9t\xc3\xa9\"")) << "characters, not bytes";
  EXPECT_FALSE(prefix_ok(str, R"("abcd)"));
  const std::string num = R"({"type":"integer","minimum":150,"maximum":200})";
  EXPECT_TRUE(accepts(num, "175"));
  EXPECT_TRUE(prefix_ok(num, "2")) << "200 is in range";
  EXPECT_FALSE(prefix_ok(num, "201"));
  EXPECT_FALSE(prefix_ok(num, "-"));
  EXPECT_FALSE(prefix_ok(num, "21"));
  EXPECT_FALSE(accepts(num, "15"));
  const std::string excl = R"({"type":"number","exclusiveMinimum":0,"exclusiveMaximum":1})";
  EXPECT_FALSE(accepts(excl, "0"));
  EXPECT_TRUE(accepts(excl, "0.5"));
  EXPECT_FALSE(prefix_ok(excl, "1"));
  EXPECT_FALSE(prefix_ok(excl, "1e")) << "no exponent in a ranged number";
}

TEST(JsonSchema, PatternsAndFormats) {
  const std::string code = R"({"type":"string","pattern":"^[A-Z]{2}-\\d{3}$"})";
  EXPECT_TRUE(accepts(code, R"("AB-123")"));
  EXPECT_FALSE(prefix_ok(code, R"("A1)"));
  EXPECT_FALSE(accepts(code, R"("AB-12")"));
  EXPECT_FALSE(prefix_ok(code, R"("AB-1234)"));
  EXPECT_TRUE(accepts(R"({"type":"string","pattern":"cat|dog"})", R"("hotdogs")"))
      << "an unanchored pattern matches anywhere";
  EXPECT_TRUE(accepts(R"({"type":"string","pattern":"^(ab)+c?$"})", R"("ababc")"));
  EXPECT_TRUE(accepts(R"({"type":"string","format":"date"})", R"("2024-02-28")"));
  EXPECT_FALSE(prefix_ok(R"({"type":"string","format":"date"})", R"("2024-13)"));
  EXPECT_FALSE(prefix_ok(R"({"type":"string","format":"date"})", R"("2024-02-30)"));
  EXPECT_TRUE(accepts(R"({"type":"string","format":"date-time"})", R"("2024-01-31T23:59:00Z")"));
  EXPECT_TRUE(accepts(R"({"type":"string","format":"uuid"})",
                      R"("123e4567-e89b-12d3-a456-426614174000")"));
  EXPECT_TRUE(accepts(R"({"type":"string","format":"hostname"})", R"("anything")"))
      << "other formats are annotations";
  auto s = compile_json_schema(code);
  JsonSchemaState st(*s);
  ASSERT_TRUE(st.feed("\"X"));
  EXPECT_EQ(st.completion(), "A-000\"");
}

TEST(JsonSchema, AlternativesAndToolCalls) {
  const std::string call = R"({"anyOf":[
    {"type":"object","properties":{"name":{"const":"get_weather"},
      "arguments":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],
        "additionalProperties":false}},"required":["name","arguments"],"additionalProperties":false},
    {"type":"object","properties":{"name":{"const":"get_time"},
      "arguments":{"type":"object","properties":{"zone":{"enum":["UTC","CET"]}},
        "required":["zone"],"additionalProperties":false}},
      "required":["name","arguments"],"additionalProperties":false}]})";
  EXPECT_TRUE(accepts(call, R"({"name":"get_weather","arguments":{"city":"Paris"}})"));
  EXPECT_TRUE(accepts(call, R"({"name": "get_time", "arguments": {"zone": "CET"}})"));
  EXPECT_FALSE(prefix_ok(call, R"({"name":"get_time","arguments":{"city")"));
  EXPECT_FALSE(prefix_ok(call, R"({"name":"get_other")"));
  const std::string many = R"({"type":"array","minItems":1,"items":)" + call + "}";
  EXPECT_TRUE(accepts(many, R"([{"name":"get_time","arguments":{"zone":"UTC"}},)"
                            R"({"name":"get_weather","arguments":{"city":""}}])"));
  EXPECT_FALSE(accepts(many, "[]"));
  auto s = compile_json_schema(call);
  JsonSchemaState st(*s);
  ASSERT_TRUE(st.feed(R"({"name":"get_t)"));
  EXPECT_EQ(st.completion(), R"(ime","arguments":{"zone":"UTC"}})");
}

TEST(JsonSchema, EveryOneOfManyToolsCanBeCalled) {
  std::string tools = R"({"anyOf":[)";
  for (int k = 0; k < 60; ++k)
    tools += std::string(k ? "," : "") + R"({"type":"object","properties":{"name":{"const":"tool_)" +
             std::to_string(k) + R"("},"arguments":{"type":"object","properties":{"x":{"type":"integer"}},)" +
             R"("required":["x"],"additionalProperties":false}},"required":["name","arguments"],)" +
             R"("additionalProperties":false})";
  tools += "]}";
  EXPECT_TRUE(accepts(tools, R"({"name":"tool_59","arguments":{"x":1}})"));
  EXPECT_TRUE(accepts(tools, R"({"name":"tool_0","arguments":{"x":-2}})"));
  EXPECT_FALSE(prefix_ok(tools, R"({"name":"tool_60")"));
}

TEST(JsonSchema, RefsMayLoop) {
  const std::string tree = R"({"$ref":"#/$defs/node","$defs":{"node":{"type":"object",
    "properties":{"value":{"type":"integer"},"children":{"type":"array",
    "items":{"$ref":"#/$defs/node"}}},"required":["value","children"],
    "additionalProperties":false}}})";
  EXPECT_TRUE(accepts(tree, R"({"value":1,"children":[{"value":2,"children":[]}]})"));
  EXPECT_FALSE(prefix_ok(tree, R"({"value":1,"children":[{"value":2}]})"));
  auto s = compile_json_schema(tree);
  JsonSchemaState st(*s);
  EXPECT_EQ(st.completion(), R"({"value":0,"children":[]})");
  ASSERT_TRUE(st.feed(R"({"value":1,"children":[{"value":2,"children":[{"val)"));
  EXPECT_EQ(st.completion(), R"(ue":0,"children":[]}]}]})");
  EXPECT_TRUE(accepts(R"({"definitions":{"a":{"type":"string"}},"type":"object",
      "properties":{"x":{"$ref":"#/definitions/a"}},"required":["x"]})", R"({"x":"s"})"));
  // A value that must contain itself has no finite instance.
  EXPECT_NE(refusal(R"({"$defs":{"n":{"type":"object","properties":{"n":{"$ref":"#/$defs/n"}},
      "required":["n"]}},"$ref":"#/$defs/n"})").find("invalid_input: json_schema has no finite"),
            std::string::npos);
}

TEST(JsonSchema, RefusesWhatItCannotDoByName) {
  EXPECT_EQ(refusal(R"({"type":"object","properties":{"x":{"type":"object",
      "patternProperties":{"^a":{}}}}})"),
            "unsupported: json_schema uses 'patternProperties' at #/properties/x, which hearth "
            "does not support");
  EXPECT_EQ(refusal(R"({"if":{}})"), "unsupported: json_schema uses 'if' at #, which hearth does "
                                     "not support");
  EXPECT_NE(refusal(R"({"$ref":"http://example.com/s.json"})").find("'$ref'"), std::string::npos);
  EXPECT_NE(refusal(R"({"type":"string","pattern":"(?=a)b"})").find("look-around"),
            std::string::npos);
  EXPECT_NE(refusal(R"({"allOf":[{"type":"string"},{"minLength":2}]})").find("'allOf'"),
            std::string::npos);
  EXPECT_NE(refusal(R"({"type":"strin"})").find("unknown type 'strin'"), std::string::npos);
  EXPECT_NE(refusal("{nope").find("not valid JSON"), std::string::npos);
  EXPECT_NE(refusal(R"({"type":"array","items":{"type":"integer"},"minItems":3,"maxItems":2})")
                .find("no finite value"),
            std::string::npos);
  EXPECT_EQ(refusal(R"({"title":"t","description":"d","$schema":"x","default":1,"examples":[]})"),
            "compiled");
}

// From random points of random valid walks, the completion always closes the value.
TEST(JsonSchema, CompletionsAlwaysClose) {
  const std::vector<std::string> schemas = {
      R"({"type":"object"})",
      R"({})",
      R"({"type":"object","properties":{"a":{"type":"integer","minimum":-5,"maximum":5},
        "b":{"type":"array","items":{"type":"string","maxLength":3},"minItems":2},
        "c":{"anyOf":[{"type":"number"},{"type":"string","format":"date"}]},
        "d":{"type":"object","additionalProperties":{"type":"boolean"}}},
        "required":["a","b"],"additionalProperties":false})",
      R"({"$defs":{"n":{"type":"object","properties":{"v":{"enum":["x","yy",1]},
        "kids":{"type":"array","items":{"$ref":"#/$defs/n"},"maxItems":2}},"required":["v"]}},
        "$ref":"#/$defs/n"})",
      R"({"type":"array","items":{"type":"string","pattern":"^[a-c]+-[0-9]{2}$"},"minItems":1})",
      R"({"type":"number","minimum":0.25,"maximum":0.5})",
  };
  std::mt19937 rng(7);
  for (const auto& text : schemas) {
    auto s = compile_json_schema(text);
    for (int walk = 0; walk < 60; ++walk) {
      JsonSchemaState st(*s);
      std::string written;
      const int steps = static_cast<int>(rng() % 40);
      for (int k = 0; k < steps && !st.complete(); ++k) {
        std::vector<unsigned char> ok;
        for (int c = 0x20; c < 0x7f; ++c) {
          JsonSchemaState trial = st;
          if (trial.feed(static_cast<unsigned char>(c))) ok.push_back(static_cast<unsigned char>(c));
        }
        ASSERT_FALSE(ok.empty()) << text << " after " << written;
        const unsigned char c = ok[rng() % ok.size()];
        ASSERT_TRUE(st.feed(c));
        written.push_back(static_cast<char>(c));
      }
      const std::string tail = st.completion();
      ASSERT_TRUE(st.feed(tail)) << text << ": " << written << " + " << tail;
      ASSERT_TRUE(st.complete()) << text << ": " << written << " + " << tail;
      boost::system::error_code ec;
      (void)boost::json::parse(written + tail, ec);
      EXPECT_FALSE(ec) << written + tail;
    }
  }
}

// Schemas come from clients: mutated ones are compiled or refused with an Error, never a crash,
// and what compiles still completes. HEARTH_FUZZ_SCHEMA_ITERATIONS sets a longer run.
TEST(JsonSchema, MutatedSchemasAreRefusedOrFollowed) {
  const std::vector<std::string> seeds = {
      R"({"type":"object","properties":{"a":{"type":"string","pattern":"^(ab|c){1,3}[x-z]?$"},
        "b":{"anyOf":[{"type":"integer","minimum":-3,"maximum":7},{"enum":[true,"q"]}]},
        "c":{"type":"array","items":{"$ref":"#"},"maxItems":2}},"required":["a"]})",
      R"({"$defs":{"x":{"type":["number","null"],"exclusiveMaximum":1e3}},"type":"array",
        "items":{"$ref":"#/$defs/x"},"minItems":1})",
      R"({"type":"string","format":"date-time","minLength":3,"maxLength":40})",
  };
  const char* env = std::getenv("HEARTH_FUZZ_SCHEMA_ITERATIONS");
  const int iterations = env ? std::atoi(env) : 1500;
  std::mt19937 rng(3);
  const std::string alphabet = R"({}[]":,0123456789-+.eE^$|*?()\ abcdefgijklmnopqrstuvwxyz#/)";
  int compiled = 0;
  for (int it = 0; it < iterations; ++it) {
    std::string text = seeds[rng() % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !text.empty(); ++e) {
      const size_t at = rng() % text.size();
      switch (rng() % 3) {
        case 0: text[at] = alphabet[rng() % alphabet.size()]; break;
        case 1: text.erase(at, 1 + rng() % 3); break;
        default: text.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
      }
    }
    std::shared_ptr<const JsonSchema> s;
    try {
      s = compile_json_schema(text);
    } catch (const Error&) {
      continue;
    }
    ++compiled;
    JsonSchemaState st(*s);
    std::string written;
    for (int k = 0; k < 12 && !st.complete(); ++k) {
      std::vector<unsigned char> ok;
      for (unsigned char c : alphabet) {
        JsonSchemaState trial = st;
        if (trial.feed(c)) ok.push_back(c);
      }
      if (ok.empty()) break;
      const unsigned char c = ok[rng() % ok.size()];
      st.feed(c);
      written.push_back(static_cast<char>(c));
    }
    const std::string tail = st.completion();
    EXPECT_TRUE(st.feed(tail) && st.complete()) << text << "\n" << written << " + " << tail;
  }
  EXPECT_GT(compiled, 0);
}

// Patterns built to be costly are refused or stay bounded (the search for a completion has a
// work limit), so a client cannot stall the server with one.
TEST(JsonSchema, CostlyPatternsAreBounded) {
  for (const char* pattern :
       {"^(a|aa)*b$", "^(.*a){30}$", "^((a{0,9}){0,9}){0,9}$", "^[a-z]{900}$", "(x+x+)+y",
        "^(([a-c]|[b-d]|[c-e])*[0-9]){12}$"}) {
    const std::string schema = std::string(R"({"type":"string","maxLength":1000,"pattern":")") +
                               pattern + "\"}";
    try {
      auto s = compile_json_schema(schema);
      JsonSchemaState st(*s);
      ASSERT_TRUE(st.feed('"'));
      for (int k = 0; k < 20 && st.feed('a'); ++k) {
      }
      (void)st.completion();
    } catch (const Error& e) {
      EXPECT_TRUE(e.kind() == ErrorKind::unsupported || e.kind() == ErrorKind::invalid_input)
          << pattern << ": " << e.what();
    }
  }
}

}  // namespace
}  // namespace hearth::generate
