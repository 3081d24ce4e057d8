// Minimal NumPy .npy reader/writer (format versions 1.0, 2.0, 3.0; C order only).
//
// Used by runners/ort/ort_runner.js (runner:ort) and tests/fixtures/ort/run_ort.js to feed ONNX Runtime
// and save its outputs. Only little-endian (or byte-sized)
// dtypes are handled; everything else is an error with the file name in the message.
'use strict';

const fs = require('fs');

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // "\x93NUMPY"

// descr -> { ort: ONNX Runtime tensor type, size: bytes per element, Array: typed array ctor }
const DTYPES = {
  '<f4': { ort: 'float32', size: 4, Array: Float32Array },
  '<f8': { ort: 'float64', size: 8, Array: Float64Array },
  '<f2': { ort: 'float16', size: 2, Array: Uint16Array }, // raw binary16 bits
  '<i8': { ort: 'int64', size: 8, Array: BigInt64Array },
  '<i4': { ort: 'int32', size: 4, Array: Int32Array },
  '<i2': { ort: 'int16', size: 2, Array: Int16Array },
  '|i1': { ort: 'int8', size: 1, Array: Int8Array },
  '|u1': { ort: 'uint8', size: 1, Array: Uint8Array },
  '<u8': { ort: 'uint64', size: 8, Array: BigUint64Array },
  '<u4': { ort: 'uint32', size: 4, Array: Uint32Array },
  '<u2': { ort: 'uint16', size: 2, Array: Uint16Array },
  '|b1': { ort: 'bool', size: 1, Array: Uint8Array },
};

// ORT tensor type -> descr written in our .npy files.
const DESCR_OF_ORT = {
  float32: '<f4', float64: '<f8', float16: '<f2', int64: '<i8', int32: '<i4', int16: '<i2',
  int8: '|i1', uint8: '|u1', uint64: '<u8', uint32: '<u4', uint16: '<u2', bool: '|b1',
};

// Parses the header dict, e.g. "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }".
function parseHeader(text, file) {
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descr || !fortran || !shape) throw new Error(`${file}: malformed .npy header: ${text.trim()}`);
  if (fortran[1] === 'True') throw new Error(`${file}: Fortran-order arrays are not supported`);
  let d = descr[1];
  if (d === '=f4' || d === 'f4') d = '<f4'; // native on every platform we run on
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s.length > 0).map((s) => {
    if (!/^\d+L?$/.test(s)) throw new Error(`${file}: bad dimension '${s}' in .npy shape`);
    return Number.parseInt(s, 10);
  });
  return { descr: d, shape: dims };
}

// Reads a .npy file; returns { descr, ortType, shape, data (typed array) }.
function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.length < 10 || !buf.subarray(0, 6).equals(MAGIC)) throw new Error(`${file}: not a .npy file (bad magic)`);
  const major = buf[6];
  let hlen;
  let off;
  if (major === 1) { hlen = buf.readUInt16LE(8); off = 10; } else if (major === 2 || major === 3) {
    hlen = buf.readUInt32LE(8); off = 12;
  } else throw new Error(`${file}: unsupported .npy version ${major}`);
  if (off + hlen > buf.length) throw new Error(`${file}: truncated .npy header`);
  const hdr = parseHeader(buf.toString(major === 3 ? 'utf8' : 'latin1', off, off + hlen), file);
  const dt = DTYPES[hdr.descr];
  if (!dt) throw new Error(`${file}: unsupported dtype '${hdr.descr}'`);
  const count = hdr.shape.reduce((a, b) => a * b, 1);
  const start = off + hlen;
  if (buf.length - start !== count * dt.size) {
    throw new Error(`${file}: data is ${buf.length - start} bytes, shape [${hdr.shape}] of ${hdr.descr} needs ${count * dt.size}`);
  }
  // Copy into a fresh, aligned ArrayBuffer (the file buffer may be unaligned for the element size).
  const ab = new ArrayBuffer(count * dt.size);
  buf.copy(Buffer.from(ab), 0, start);
  let data = new dt.Array(ab);
  if (dt.ort === 'bool') data = new Uint8Array(ab).map((v) => (v ? 1 : 0));
  return { descr: hdr.descr, ortType: dt.ort, shape: hdr.shape, data };
}

// Writes a typed array as a version 1.0 .npy file with the given ORT type and shape.
function writeNpy(file, ortType, shape, data) {
  const descr = DESCR_OF_ORT[ortType];
  if (!descr) throw new Error(`${file}: cannot write tensor type '${ortType}' as .npy`);
  const shapeStr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  const total = 10 + dict.length + 1; // magic+version+len, dict, '\n'
  dict += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  MAGIC.copy(head, 0);
  head[6] = 1; head[7] = 0;
  head.writeUInt16LE(dict.length, 8);
  let body;
  if (ortType === 'bool') body = Buffer.from(Uint8Array.from(data, (v) => (v ? 1 : 0)));
  else body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(dict, 'latin1'), body]));
}

module.exports = { readNpy, writeNpy };
