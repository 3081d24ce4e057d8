#!/usr/bin/env node
// flipscope runner:ort: runs a model with ONNX Runtime (npm onnxruntime-node) under the flipscope
// runner protocol v1 (docs/runners.md).
//
// Usage: node ort_runner.js [--ep cpu|coreml] [--coreml-units ALL|CPUOnly|CPUAndGPU|CPUAndNeuralEngine] REQUEST_DIR
//
// REQUEST_DIR/request.json: {protocol: 1, model, inputs: {name: relative .npy}, outputs: [names], threads,
// want_intermediates, intermediates: [names]}. Writes REQUEST_DIR/outputs/<safe name>.npy for every output
// and, when asked, REQUEST_DIR/intermediates/<safe name>.npy for every listed intermediate value
// (<safe name>: characters outside [A-Za-z0-9._-] replaced by '_'). Errors: a message on stderr, exit 2.
//
// --ep coreml asks ONNX Runtime for its Core ML execution provider (macOS builds of onnxruntime-node
// only); --coreml-units picks Core ML's compute units (default: $FLIPSCOPE_COREML_UNITS, else ALL).
// Not tested on Linux: the Linux package has no Core ML provider.
'use strict';

const fs = require('fs');
const path = require('path');
const { readNpy, writeNpy } = require('./npy.js');

const UNITS = ['ALL', 'CPUOnly', 'CPUAndGPU', 'CPUAndNeuralEngine'];

function parseArgs(argv) {
  const a = { ep: 'cpu', units: process.env.FLIPSCOPE_COREML_UNITS || 'ALL', dir: null };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--ep') a.ep = argv[++i];
    else if (argv[i] === '--coreml-units') a.units = argv[++i];
    else if (argv[i].startsWith('--')) throw new Error(`unknown option '${argv[i]}'`);
    else a.dir = argv[i];
  }
  if (!a.dir) throw new Error('usage: node ort_runner.js [--ep cpu|coreml] [--coreml-units U] REQUEST_DIR');
  if (!['cpu', 'coreml'].includes(a.ep)) throw new Error(`--ep must be cpu or coreml, got '${a.ep}'`);
  if (!UNITS.includes(a.units)) throw new Error(`Core ML compute units must be one of ${UNITS.join(', ')}, got '${a.units}'`);
  return a;
}

// Core ML provider options for compute units `units`. The Node.js binding documents bit flags
// (coreMlFlags: USE_CPU_ONLY 0x001, CREATE_MLPROGRAM 0x010, USE_CPU_AND_GPU 0x020); it has no flag for
// "CPU and Neural Engine", so that choice is also passed as ORT's newer provider options
// (ModelFormat, MLComputeUnits). Untested: our machines run Linux.
function coremlOption(units) {
  const flags = { ALL: 0, CPUOnly: 0x001, CPUAndGPU: 0x020, CPUAndNeuralEngine: 0 }[units] | 0x010;
  return { name: 'coreml', coreMlFlags: flags, ModelFormat: 'MLProgram', MLComputeUnits: units };
}

function safeName(name) {
  return name.replace(/[^A-Za-z0-9._-]/g, '_');
}

// Protobuf varint and length-delimited field encoders (just what the next function needs).
function varint(n) {
  const out = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}
function lenField(field, payload) {
  return Buffer.concat([varint(field * 8 + 2), varint(payload.length), payload]);
}

// Reads a varint at buf[pos]; returns [value, next position].
function readVarint(buf, pos) {
  let v = 0;
  let mul = 1;
  for (;;) {
    if (pos >= buf.length) throw new Error('truncated protobuf varint in the model');
    const b = buf[pos++];
    v += (b & 127) * mul;
    if (b < 128) return [v, pos];
    mul *= 128;
  }
}

// Splits a protobuf message into fields [{field, wire, start, end, payload}] (payload: length-delimited body).
function fields(buf) {
  const out = [];
  let pos = 0;
  while (pos < buf.length) {
    const start = pos;
    let key;
    [key, pos] = readVarint(buf, pos);
    const field = Math.floor(key / 8);
    const wire = key & 7;
    let payload = null;
    if (wire === 0) [, pos] = readVarint(buf, pos);
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      let len;
      [len, pos] = readVarint(buf, pos);
      payload = buf.subarray(pos, pos + len);
      pos += len;
    } else throw new Error(`unsupported protobuf wire type ${wire} in the model`);
    out.push({ field, wire, start, end: pos, payload });
  }
  return out;
}

// The model with `names` made graph outputs (ModelProto.graph = 7; GraphProto.output = 12,
// value_info = 13; ValueInfoProto.name = 1). A value_info entry of a requested name becomes an output
// (ORT rejects a name defined twice); names without one get a name-only output.
function withOutputs(model, names) {
  const want = new Set(names);
  const parts = [];
  for (const f of fields(model)) {
    if (f.field !== 7 || f.wire !== 2) {
      parts.push(model.subarray(f.start, f.end));
      continue;
    }
    const g = [];
    const moved = [];
    for (const gf of fields(f.payload)) {
      if (gf.field === 13 && gf.wire === 2) {
        const nameField = fields(gf.payload).find((x) => x.field === 1 && x.wire === 2);
        const name = nameField ? nameField.payload.toString('utf8') : null;
        if (name !== null && want.has(name)) {
          moved.push(lenField(12, gf.payload));
          want.delete(name);
          continue;
        }
      }
      g.push(f.payload.subarray(gf.start, gf.end));
    }
    for (const n of want) moved.push(lenField(12, lenField(1, Buffer.from(n, 'utf8'))));
    parts.push(lenField(7, Buffer.concat([...g, ...moved])));
  }
  return Buffer.concat(parts);
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const req = JSON.parse(fs.readFileSync(path.join(a.dir, 'request.json'), 'utf8'));
  if (req.protocol !== 1) throw new Error(`request protocol ${req.protocol}; this runner speaks protocol 1`);
  const ort = require('onnxruntime-node');
  const threads = Number.isInteger(req.threads) && req.threads > 0 ? req.threads : 1;
  const ep = a.ep === 'cpu' ? ['cpu'] : [coremlOption(a.units), 'cpu'];
  const want = req.want_intermediates === true && Array.isArray(req.intermediates) && req.intermediates.length > 0;
  let model = fs.readFileSync(req.model);
  if (want) model = withOutputs(model, req.intermediates.filter((n) => !req.outputs.includes(n)));
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ep,
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
  });
  const feeds = {};
  for (const [name, rel] of Object.entries(req.inputs)) {
    const arr = readNpy(path.join(a.dir, rel));
    feeds[name] = new ort.Tensor(arr.ortType, arr.data, arr.shape);
  }
  const results = await session.run(feeds);
  for (const name of session.outputNames) {
    const t = results[name];
    const sub = req.outputs.includes(name) ? 'outputs' : 'intermediates';
    writeNpy(path.join(a.dir, sub, `${safeName(name)}.npy`), t.type, t.dims, t.data);
  }
}

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(`ort_runner: ${e && e.message ? e.message : e}\n`);
    process.exit(2);
  });
} else {
  module.exports = { withOutputs };
}
