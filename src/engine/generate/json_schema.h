// JSON Schema constrained output: a schema compiled into a checker that says, byte by byte,
// whether the text so far can still become one JSON value that the schema accepts, and the
// shortest text that would finish it (so a generation can always close its JSON in budget).
//
// Shape: compile_json_schema() turns the schema's text into a graph of nodes (JsonSchema; one
// node per kind of value, $ref edges allowed to loop). JsonSchemaState is a pushdown walk over
// that graph: a stack of frames (one per open value) per alternative still alive (anyOf, oneOf
// and type arrays are tried side by side and dropped when they stop fitting). It is a value:
// copy it to try a candidate token without committing. The JsonSchema must outlive every state.
//
// What the output looks like (a subset of what the schema allows, so it always validates):
// - object keys come in the schema's `properties` order, required or not; keys outside
//   `properties` only when additionalProperties is true or a schema (or the object schema has
//   no `properties` at all), and only after every required key;
// - strings with a pattern or format hold printable ASCII without escapes;
// - numbers with minimum/maximum have no exponent and at most 15 integer digits;
// - whitespace between tokens is capped (4 before the value, 24 in a row elsewhere), as in
//   JsonPrefix, so a sampler cannot spend its budget on blanks;
// - oneOf is read as anyOf (an output may match more than one alternative when they overlap).
// Supported: type (object, array, string, number, integer, boolean, null, and arrays of them),
// properties, required, additionalProperties (false, true or a schema; absent means no other keys
// when `properties` is given, any keys otherwise), enum, const, items (a schema), minItems,
// maxItems, minLength, maxLength, pattern (json_regex.h), format (date, time, date-time, uuid,
// email checked; other formats are annotations), minimum, maximum, exclusiveMinimum,
// exclusiveMaximum, anyOf, oneOf, allOf with one schema, nullable, uniqueItems false, $ref to
// '#...' within the schema ($defs, definitions, any pointer; loops allowed). Ignored
// annotations: title, description, default, examples, $schema, $id, $comment, deprecated,
// readOnly, writeOnly, discriminator, contentMediaType, contentEncoding and x-*. Everything else
// (patternProperties, if/then/else, not, dependentSchemas, prefixItems, uniqueItems true,
// multipleOf, minProperties, remote $ref, ...) is refused by name.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::generate {

struct JsonSchema;  // compiled form (json_schema_nodes.h)

// Compiles a schema given as JSON text. Throws hearth::Error: invalid_input when the text is not
// JSON or the schema is malformed or cannot be satisfied, unsupported when it uses a keyword
// hearth does not implement (the message names the keyword and where it is, e.g. "json_schema
// uses 'patternProperties' at #/properties/x, which hearth does not support").
std::shared_ptr<const JsonSchema> compile_json_schema(std::string_view schema_text);

// Checks a request's schema before the request waits for a model (nothing for empty text): the
// same Error kind as compile_json_schema, its message starting "field '<field>': ".
void check_json_schema(std::string_view schema_text, std::string_view field);

class JsonSchemaState {
 public:
  explicit JsonSchemaState(const JsonSchema& schema);

  // Feeds one byte; false when it cannot continue a valid value (the state is then unspecified:
  // try on a copy).
  bool feed(unsigned char c);
  bool feed(std::string_view text);
  // Whether feed(text) would succeed, leaving this state as it is.
  bool accepts(std::string_view text) const;
  // The text so far is a whole value the schema accepts (the generation should stop).
  bool complete() const;
  // The shortest text found that completes the value ("" when complete()).
  std::string completion() const;

  struct Frame {
    int32_t node = 0;
    uint8_t type = 0;   // Kind of frame (json_schema_state.cpp)
    uint8_t phase = 0;  // where inside the value
    uint8_t sub = 0;    // string escape / number sub-state
    int32_t a = 0, b = 0, c = 0;
    std::string buf;  // key or literal typed so far, number text, or a pattern's live set
    bool operator==(const Frame&) const = default;
  };
  using Thread = std::vector<Frame>;

 private:
  const JsonSchema* schema_;
  std::vector<Thread> threads_;
};

}  // namespace hearth::generate
