#!/usr/bin/env node
// Checks a ConFaaS receipt offline against a TD's evidence, as sealed-invoke.mjs does after a call:
// key binding, RTMR3 log, ES384 signature by the bound identity key, TD, RTMR3 prefix, images and
// the hashes of the request and response bytes given. The quote's DCAP chain is not checked here.
//
//   node verify-receipt.mjs --receipt receipt.jws --evidence evidence.json [--request F] [--response F]
import fs from 'node:fs';
import { checkEvidence, checkReceipt } from './confaas.mjs';

const opts = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  if (!['--receipt', '--evidence', '--request', '--response'].includes(argv[i]) || i + 1 >= argv.length) {
    console.error('usage: node verify-receipt.mjs --receipt FILE --evidence FILE [--request FILE] [--response FILE]');
    process.exit(2);
  }
  opts[argv[i].slice(2)] = argv[i + 1];
}
if (!opts.receipt || !opts.evidence) {
  console.error('usage: node verify-receipt.mjs --receipt FILE --evidence FILE [--request FILE] [--response FILE]');
  process.exit(2);
}

const evidence = JSON.parse(fs.readFileSync(opts.evidence, 'utf8'));
const { lines } = checkReceipt(fs.readFileSync(opts.receipt, 'utf8'), evidence, {
  request: opts.request ? fs.readFileSync(opts.request) : undefined,
  response: opts.response ? fs.readFileSync(opts.response) : undefined,
});
let ok = true;
for (const l of [...checkEvidence(evidence), ...lines]) {
  const outcome = l.ok === null ? 'NOT_CHECKED' : l.ok ? 'PASS' : 'FAIL';
  ok &&= l.ok !== false;
  console.log(`${outcome.padEnd(12)} ${l.check.padEnd(14)} ${l.message}`);
}
console.log(ok ? 'receipt VERIFIED (quote not checked here)' : 'receipt REFUSED');
process.exitCode = ok ? 0 : 1;
