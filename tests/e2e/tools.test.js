// Tool calls through the official `openai` and `ollama` clients and LangChain's ChatOpenAI, on
// every conformance model family with its family's chat template: forced calls parse, their
// arguments validate against the tool's schema (ajv), streamed calls add up to the same call,
// and a tool result continues the conversation. The models have random weights: only a forced
// call (constrained sampling) is certain to be a call, so forced calls are what is checked.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import Ajv from 'ajv';
import { ChatOpenAI } from '@langchain/openai';
import { makeTempDir, startServer } from './lib/hearth.js';
import { openaiClient, ollamaClient, request } from './lib/util.js';
import { installFamilies } from './lib/families.js';

const T = { timeout: 120_000 };
const ajv = new Ajv({ strict: false });

const weather = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather now in a city',
    parameters: {
      type: 'object',
      properties: {
        city: { type: 'string', maxLength: 12 },
        unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
      },
      required: ['city', 'unit'],
      additionalProperties: false,
    },
  },
};
const clock = {
  type: 'function',
  function: {
    name: 'get_time',
    description: 'The time now in a zone',
    parameters: {
      type: 'object',
      properties: { zone: { type: 'string', enum: ['UTC', 'CET'] }, seconds: { type: 'boolean' } },
      required: ['zone'],
      additionalProperties: false,
    },
  },
};
const byName = { get_weather: weather, get_time: clock };
const ask = [{ role: 'user', content: 'What is the weather in Paris?' }];

let dir, server, client, families;

before(async () => {
  dir = await makeTempDir('hearth-e2e-tools-');
  const home = path.join(dir, 'home');
  families = await installFamilies(home, dir);
  server = await startServer({ home });
  client = openaiClient(server.url);
});

after(async () => {
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function checkCall(call, where) {
  assert.equal(call.type, 'function', where);
  assert.match(call.id, /\S/, `${where}: the call has an id`);
  const tool = byName[call.function.name];
  assert.ok(tool, `${where}: called '${call.function.name}', not one of the tools`);
  const args = JSON.parse(call.function.arguments);
  const validate = ajv.compile(tool.function.parameters);
  assert.ok(validate(args), `${where}: arguments ${call.function.arguments} do not validate: ` +
                            JSON.stringify(validate.errors));
  return args;
}

test('a named tool_choice gives a valid call on every family (openai client)', T, async () => {
  for (const model of families) {
    const r = await client.chat.completions.create({
      model, messages: ask, tools: [weather, clock], temperature: 0, max_tokens: 60,
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
    });
    const [choice] = r.choices;
    // "length" when the token budget made the call close early (it still parses and validates).
    assert.ok(['tool_calls', 'length'].includes(choice.finish_reason), `${model}: ${choice.finish_reason}`);
    assert.equal(choice.message.tool_calls.length >= 1, true, `${model}: no tool call`);
    const call = choice.message.tool_calls[0];
    assert.equal(call.function.name, 'get_weather', model);
    checkCall(call, model);
  }
});

test('tool_choice required picks one of the tools; streamed deltas add up to the call', T, async () => {
  for (const model of families) {
    const stream = await client.chat.completions.create({
      model, messages: ask, tools: [weather, clock], tool_choice: 'required',
      temperature: 0, max_tokens: 60, stream: true,
    });
    const calls = [];
    let finish = null;
    for await (const chunk of stream) {
      const c = chunk.choices[0];
      if (!c) continue;
      for (const d of c.delta?.tool_calls ?? []) {
        calls[d.index] ??= { id: '', type: 'function', function: { name: '', arguments: '' } };
        const acc = calls[d.index];
        if (d.id) acc.id = d.id;
        if (d.function?.name) acc.function.name += d.function.name;
        if (d.function?.arguments) acc.function.arguments += d.function.arguments;
      }
      if (c.finish_reason) finish = c.finish_reason;
    }
    assert.ok(['tool_calls', 'length'].includes(finish), `${model}: finish_reason ${finish}`);
    assert.ok(calls.length >= 1, `${model}: no streamed call`);
    for (const call of calls) checkCall(call, `${model} (streamed)`);
  }
});

test('a tool result continues the conversation', T, async () => {
  for (const model of families) {
    const first = await client.chat.completions.create({
      model, messages: ask, tools: [weather], temperature: 0, max_tokens: 60,
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
    });
    const assistant = first.choices[0].message;
    const call = assistant.tool_calls[0];
    const r = await client.chat.completions.create({
      model, tools: [weather], temperature: 0, max_tokens: 8,
      messages: [...ask, assistant, { role: 'tool', tool_call_id: call.id, content: '18 C, sunny' }],
    });
    const [choice] = r.choices;
    assert.ok(['stop', 'length', 'tool_calls'].includes(choice.finish_reason), model);
    assert.ok(r.usage.prompt_tokens > first.usage.prompt_tokens,
              `${model}: the second prompt (${r.usage.prompt_tokens} tokens) holds the call and its result`);
  }
});

test('the ollama client sends tools and tool results and reads calls back', T, async () => {
  const ollama = ollamaClient(server.url);
  for (const model of families) {
    // Ollama has no tool_choice; hearth takes OpenAI's as an extension, which forces the call.
    const r = await ollama.chat({
      model, messages: ask, tools: [weather], stream: false,
      options: { temperature: 0, num_predict: 60 },
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
    });
    const calls = r.message.tool_calls ?? [];
    assert.ok(calls.length >= 1, `${model}: no tool call in ${JSON.stringify(r.message)}`);
    assert.equal(calls[0].function.name, 'get_weather');
    assert.equal(typeof calls[0].function.arguments, 'object', 'Ollama sends arguments as an object');
    assert.ok(ajv.validate(weather.function.parameters, calls[0].function.arguments),
              `${model}: ${JSON.stringify(calls[0].function.arguments)}`);
    const next = await ollama.chat({
      model, stream: false, tools: [weather], options: { temperature: 0, num_predict: 8 },
      messages: [...ask, r.message, { role: 'tool', tool_name: 'get_weather', content: '18 C' }],
    });
    assert.equal(next.message.role, 'assistant');
    assert.ok(next.prompt_eval_count > r.prompt_eval_count, model);
  }
});

test('LangChain ChatOpenAI: bindTools with a forced tool gives parsed tool_calls', T, async () => {
  for (const model of ['qwen25', 'llama3', 'mistral']) {
    const llm = new ChatOpenAI({
      model, temperature: 0, maxTokens: 60, apiKey: 'unused',
      configuration: { baseURL: `${server.url}/v1` },
    });
    const bound = llm.bindTools([weather], { tool_choice: 'get_weather' });
    const msg = await bound.invoke('What is the weather in Paris?');
    assert.equal(msg.tool_calls.length >= 1, true, `${model}: ${JSON.stringify(msg)}`);
    assert.equal(msg.tool_calls[0].name, 'get_weather');
    assert.ok(ajv.validate(weather.function.parameters, msg.tool_calls[0].args),
              `${model}: ${JSON.stringify(msg.tool_calls[0].args)}`);
  }
});

test('LangChain withStructuredOutput returns an object that validates', T, async () => {
  const schema = {
    title: 'city', type: 'object',
    properties: { name: { type: 'string', maxLength: 20 }, population: { type: 'integer' } },
    required: ['name', 'population'], additionalProperties: false,
  };
  for (const method of ['jsonSchema', 'functionCalling']) {
    const llm = new ChatOpenAI({
      model: 'qwen25', temperature: 0, maxTokens: 60, apiKey: 'unused',
      configuration: { baseURL: `${server.url}/v1` },
    });
    const out = await llm.withStructuredOutput(schema, { method }).invoke('Name a big city.');
    assert.ok(ajv.validate(schema, out), `${method}: ${JSON.stringify(out)} ${JSON.stringify(ajv.errors)}`);
  }
});

test('bad tool requests are 400s naming the field', T, async () => {
  const cases = [
    [{ tools: [{ type: 'retrieval' }] }, /tools\[0\]\.type/],
    [{ tools: [weather], tool_choice: { type: 'function', function: { name: 'nope' } } }, /nope/],
    [{ tools: [{ type: 'function', function: { name: 'x', parameters: [1] } }] }, /parameters/],
    [{ tool_choice: 'required' }, /tool_choice/],
    [{ functions: [{ name: 'x' }] }, /functions/],
  ];
  for (const [extra, pattern] of cases) {
    const r = await request(`${server.url}/v1/chat/completions`, {
      body: { model: 'qwen25', messages: ask, max_tokens: 4, ...extra },
    });
    assert.equal(r.status, 400, JSON.stringify(extra));
    assert.match(r.json.error.message, pattern);
  }
});
