// A GGUF file with its chat template replaced: tests give conformance models their family's
// chat template (tokenizer.chat_template) so the server renders and parses in that family's
// style. Reads the header and metadata, drops the old template key, appends the new one, keeps
// the tensor table and the tensor data (whose offsets are relative to the aligned data start).
import { readFileSync, writeFileSync } from 'node:fs';

const FIXED = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
const STRING = 8;
const ARRAY = 9;

function skipValue(buf, at, type) {
  if (type in FIXED) return at + FIXED[type];
  if (type === STRING) return at + 8 + Number(buf.readBigUInt64LE(at));
  if (type === ARRAY) {
    const inner = buf.readUInt32LE(at);
    const n = Number(buf.readBigUInt64LE(at + 4));
    at += 12;
    if (inner in FIXED) return at + n * FIXED[inner];
    for (let i = 0; i < n; i++) at = skipValue(buf, at, inner);
    return at;
  }
  throw new Error(`GGUF value type ${type} is not known`);
}

function readString(buf, at) {
  const n = Number(buf.readBigUInt64LE(at));
  return [buf.toString('utf8', at + 8, at + 8 + n), at + 8 + n];
}

function stringKv(key, value) {
  const k = Buffer.from(key, 'utf8');
  const v = Buffer.from(value, 'utf8');
  const out = Buffer.alloc(8 + k.length + 4 + 8 + v.length);
  let at = 0;
  out.writeBigUInt64LE(BigInt(k.length), at); at += 8;
  k.copy(out, at); at += k.length;
  out.writeUInt32LE(STRING, at); at += 4;
  out.writeBigUInt64LE(BigInt(v.length), at); at += 8;
  v.copy(out, at);
  return out;
}

export function withChatTemplate(src, dst, template) {
  const buf = readFileSync(src);
  if (buf.toString('latin1', 0, 4) !== 'GGUF') throw new Error(`${src} is not a GGUF file`);
  const nTensors = Number(buf.readBigUInt64LE(8));
  const nKv = Number(buf.readBigUInt64LE(16));
  let at = 24;
  const kept = [];
  let alignment = 32;
  for (let i = 0; i < nKv; i++) {
    const start = at;
    const [key, afterKey] = readString(buf, at);
    const type = buf.readUInt32LE(afterKey);
    at = skipValue(buf, afterKey + 4, type);
    if (key === 'general.alignment') alignment = buf.readUInt32LE(afterKey + 4);
    if (key !== 'tokenizer.chat_template') kept.push(buf.subarray(start, at));
  }
  kept.push(stringKv('tokenizer.chat_template', template));
  const tensorsStart = at;
  for (let i = 0; i < nTensors; i++) {
    const [, afterName] = readString(buf, at);
    const nDims = buf.readUInt32LE(afterName);
    at = afterName + 4 + nDims * 8 + 4 + 8;
  }
  const tensorTable = buf.subarray(tensorsStart, at);
  const dataStart = Math.ceil(at / alignment) * alignment;
  const head = Buffer.alloc(24);
  buf.copy(head, 0, 0, 16);
  head.writeBigUInt64LE(BigInt(kept.length), 16);
  const body = Buffer.concat([head, ...kept, tensorTable]);
  const pad = Buffer.alloc((alignment - (body.length % alignment)) % alignment);
  writeFileSync(dst, Buffer.concat([body, pad, buf.subarray(dataStart)]));
}
