// Structured output with the real `openai` and `ollama` clients: OpenAI response_format
// json_schema and Ollama `format: <schema>` give text that parses and that ajv validates against
// the schema, on 20 schemas from a small deterministic generator covering the supported
// keywords; a short max_tokens still closes the JSON; an unsupported keyword is a 400 naming it.
// The tiny model's weights are random: everything it writes comes from the constraint.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Ajv from 'ajv';
import { startServerWithTiny } from './lib/hearth.js';
import { openaiClient, ollamaClient } from './lib/util.js';

let fixture;
let openai;
let ollama;
const T = { timeout: 60_000 };
const messages = [{ role: 'user', content: 'Fill in the record.' }];

// ajv without the ajv-formats package: the formats hearth checks, by their RFC 3339 / 4122 shape.
const ajv = new Ajv({ strict: false, allErrors: true });
ajv.addFormat('date', /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/);
ajv.addFormat('date-time', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i);
ajv.addFormat('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);

before(async () => {
  fixture = await startServerWithTiny();
  openai = openaiClient(fixture.url);
  ollama = ollamaClient(fixture.url);
});

after(async () => {
  await fixture?.stop();
});

// ---- the schema generator ---------------------------------------------------------------------

function mulberry32(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// One property schema of each supported kind; `depth` bounds nesting.
const FEATURES = [
  () => ({ type: 'string', maxLength: 8 }),
  () => ({ type: 'string', minLength: 2, maxLength: 5 }),
  () => ({ type: 'integer', minimum: 10, maximum: 99 }),
  () => ({ type: 'number', minimum: -1.5, maximum: 2.5 }),
  () => ({ type: 'boolean' }),
  () => ({ type: 'null' }),
  () => ({ enum: ['red', 'green', 'blue'] }),
  () => ({ const: 'fixed' }),
  () => ({ type: 'string', pattern: '^[A-Z]{2}[0-9]{3}$' }),
  () => ({ type: 'string', format: 'date' }),
  () => ({ type: 'string', format: 'uuid' }),
  () => ({ type: ['string', 'null'], maxLength: 4 }),
  () => ({ type: 'array', items: { type: 'integer', minimum: 0, maximum: 9 }, minItems: 1, maxItems: 3 }),
  (rnd, depth) => ({ anyOf: [{ type: 'integer', minimum: 0, maximum: 5 }, prop(rnd, depth + 1)] }),
  (rnd, depth) => object(rnd, depth + 1),
  (rnd, depth) => ({ type: 'array', items: object(rnd, depth + 1), maxItems: 2 }),
  () => ({ type: 'string', format: 'date-time' }),
  () => ({ type: 'integer', exclusiveMinimum: 0, exclusiveMaximum: 4 }),
];

function prop(rnd, depth) {
  const n = depth >= 2 ? 13 : FEATURES.length;  // no deeper nesting past depth 2
  const f = FEATURES[Math.floor(rnd() * n)];
  const s = f(rnd, depth);
  if (rnd() < 0.3) s.description = 'a field';  // annotations are ignored
  return s;
}

function object(rnd, depth, forced) {
  const properties = {};
  const count = 1 + Math.floor(rnd() * 3);
  if (forced) properties.f0 = forced;
  for (let k = 0; k < count; k++) properties[`p${k}`] = prop(rnd, depth);
  const names = Object.keys(properties);
  const required = names.filter((_, k) => k === 0 || rnd() < 0.6);
  const extra = rnd();
  const additionalProperties = extra < 0.7 ? false : extra < 0.85 ? true : { type: 'integer' };
  return { type: 'object', properties, required, additionalProperties };
}

// Schema i: an object holding feature i (so every feature appears) and random others; every
// fifth one reaches its objects through $defs and a recursive $ref.
function makeSchema(i) {
  const rnd = mulberry32(1000 + i);
  if (i % 5 === 4) {
    return {
      title: `tree ${i}`,
      $defs: {
        node: {
          type: 'object',
          properties: { label: prop(rnd, 2), kids: { type: 'array', items: { $ref: '#/$defs/node' }, maxItems: 2 } },
          required: ['label', 'kids'],
          additionalProperties: false,
        },
      },
      type: 'object',
      properties: { root: { $ref: '#/$defs/node' }, f0: FEATURES[i % FEATURES.length](rnd, 1) },
      required: ['root', 'f0'],
      additionalProperties: false,
    };
  }
  return object(rnd, 0, FEATURES[i % FEATURES.length](rnd, 1));
}

function check(schema, text, what) {
  let value;
  try {
    value = JSON.parse(text);
  } catch (err) {
    assert.fail(`${what}: not JSON (${err.message}): ${text}`);
  }
  const validate = ajv.compile(schema);
  assert.ok(validate(value), `${what}: ${JSON.stringify(validate.errors)}\nschema ${JSON.stringify(schema)}\noutput ${text}`);
}

// ---- the tests --------------------------------------------------------------------------------

test('20 generated schemas: the output validates (openai and ollama clients)', T, async () => {
  for (let i = 0; i < 20; i++) {
    const schema = makeSchema(i);
    if (i % 2 === 0) {
      const r = await openai.chat.completions.create({
        model: 'tiny', messages, temperature: 0, max_tokens: 60,
        response_format: { type: 'json_schema', json_schema: { name: `s${i}`, strict: true, schema } },
      });
      check(schema, r.choices[0].message.content, `schema ${i} (openai)`);
      assert.ok(['stop', 'length'].includes(r.choices[0].finish_reason));
    } else {
      const r = await ollama.chat({
        model: 'tiny', messages, stream: false, format: schema,
        options: { temperature: 0, num_predict: 60 },
      });
      check(schema, r.message.content, `schema ${i} (ollama)`);
    }
  }
});

test('a short max_tokens still closes the JSON (finish_reason length)', T, async () => {
  const schema = {
    type: 'object',
    properties: {
      names: { type: 'array', items: { type: 'string' }, minItems: 2 },
      count: { type: 'integer', minimum: 1, maximum: 5 },
    },
    required: ['names', 'count'],
    additionalProperties: false,
  };
  for (const max_tokens of [3, 10, 20]) {
    const r = await openai.chat.completions.create({
      model: 'tiny', messages, temperature: 0.9, seed: 4, max_tokens,
      response_format: { type: 'json_schema', json_schema: { name: 'cut', schema } },
    });
    check(schema, r.choices[0].message.content, `max_tokens ${max_tokens}`);
    if (r.choices[0].finish_reason === 'length') continue;
    assert.equal(r.choices[0].finish_reason, 'stop');
  }
  // Streaming: the pieces join into the same closed value.
  const stream = await openai.chat.completions.create({
    model: 'tiny', messages, temperature: 0, max_tokens: 10, stream: true,
    response_format: { type: 'json_schema', json_schema: { name: 'cut', schema } },
  });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
  check(schema, text, 'streamed');
});

test('Ollama generate and OpenAI completions follow a schema too', T, async () => {
  const schema = makeSchema(3);
  const g = await ollama.generate({
    model: 'tiny', prompt: 'Fill in the record.', stream: false, format: schema,
    options: { temperature: 0, num_predict: 60 },
  });
  check(schema, g.response, 'ollama generate');
  const c = await openai.completions.create({
    model: 'tiny', prompt: 'Fill in the record.', temperature: 0, max_tokens: 60,
    response_format: { type: 'json_schema', json_schema: { name: 'c', schema } },
  });
  check(schema, c.choices[0].text, 'openai completions');
});

test('an unsupported keyword is a 400 that names it (both APIs)', T, async () => {
  const schema = { type: 'object', properties: { a: { type: 'object', patternProperties: { '^x': {} } } } };
  await assert.rejects(
    openai.chat.completions.create({
      model: 'tiny', messages, max_tokens: 5,
      response_format: { type: 'json_schema', json_schema: { name: 'bad', schema } },
    }),
    (err) => {
      assert.equal(err.status, 400);
      assert.match(err.message, /'patternProperties' at #\/properties\/a/);
      return true;
    });
  await assert.rejects(
    ollama.chat({ model: 'tiny', messages, stream: false, format: { type: 'string', not: { const: 'x' } } }),
    (err) => {
      assert.equal(err.status_code, 400);
      assert.match(err.message, /'not'/);
      return true;
    });
});
