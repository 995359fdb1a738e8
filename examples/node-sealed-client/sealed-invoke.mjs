#!/usr/bin/env node
// A sealed ConFaaS invocation from Node.js, with nothing but node:crypto and fetch:
// fetch a TD's evidence, check that its quote binds the keys (and its RTMR3 log), seal the event to
// that TD for the function's image, send it through the (untrusted) host, open the answer, and check
// the receipt the TD signed. Usage and what it does not check: README.md.
import fs from 'node:fs';
import path from 'node:path';
import { checkEvidence, checkReceipt, seal } from './confaas.mjs';

function usage(message) {
  if (message) {
    console.error(`sealed-invoke: ${message}`);
  }
  console.error('usage: node sealed-invoke.mjs --url URL --function NAME (--data TEXT | --data-file FILE)'
    + ' [--token TOKEN] [--td ID] [--save DIR]');
  process.exit(2);
}

function parseArgs(argv) {
  const known = new Set(['--url', '--function', '--data', '--data-file', '--token', '--td', '--save']);
  const opts = {};
  for (let i = 0; i < argv.length; i += 2) {
    if (!known.has(argv[i]) || i + 1 >= argv.length) {
      usage(`unknown or incomplete option ${argv[i]}`);
    }
    opts[argv[i].slice(2)] = argv[i + 1];
  }
  if (!opts.url || !opts.function || (opts.data === undefined) === (opts['data-file'] === undefined)) {
    usage('--url, --function and one of --data or --data-file are required');
  }
  return opts;
}

function print(lines) {
  for (const l of lines) {
    const outcome = l.ok === null ? 'NOT_CHECKED' : l.ok ? 'PASS' : 'FAIL';
    console.error(`${outcome.padEnd(12)} ${l.check.padEnd(14)} ${l.message}`);
  }
  return lines.every((l) => l.ok !== false);
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const base = opts.url.replace(/\/+$/, '');
  const token = opts.token ?? process.env.CONFAAS_TOKEN;
  const auth = token ? { Authorization: `Bearer ${token}` } : {};
  const event = opts.data !== undefined ? Buffer.from(opts.data, 'utf8') : fs.readFileSync(opts['data-file']);
  const fn = encodeURIComponent(opts.function);

  const get = async (p) => {
    const r = await fetch(base + p, { headers: auth });
    const body = await r.text();
    if (!r.ok) {
      throw new Error(`GET ${p} answered ${r.status}: ${body}`);
    }
    return JSON.parse(body);
  };

  // 1. Evidence of a TD holding a warm instance (prepare=true starts one when none is warm).
  const doc = await get(`/v1/functions/${fn}/evidence?prepare=true`);
  const evidence = (doc.evidence ?? []).find((e) => opts.td === undefined || e.td_id === opts.td);
  if (!evidence) {
    throw new Error(`no TD ${opts.td ?? ''} with a warm instance of ${opts.function} is listed`);
  }
  console.error(`evidence of TD ${evidence.td_id} (${evidence.backend}), function ${doc.function} image ${doc.imageId}`);
  if (!print(checkEvidence(evidence))) {
    throw new Error(`the evidence of TD ${evidence.td_id} does not bind its keys; nothing was sent`);
  }

  // 2. Seal and send: the host only relays ciphertext.
  const sealed = seal(Buffer.from(evidence.sealing_public_key, 'base64url'), doc.imageId, evidence.td_id, event);
  const r = await fetch(`${base}/v1/functions/${fn}/invoke`, {
    method: 'POST',
    headers: { ...auth, 'Content-Type': 'message/ohttp-req', 'ConFaaS-TD': evidence.td_id },
    body: sealed.request,
  });
  const response = Buffer.from(await r.arrayBuffer());
  if (r.status !== 200) {
    throw new Error(`the sealed invocation answered ${r.status}: ${response.toString('utf8')}`);
  }
  const plaintext = sealed.openResponse(response);
  const functionError = r.headers.get('x-confaas-function-error');

  // 3. The receipt, against the TD's evidence (fetched again if the TD has loaded images since).
  const receipt = r.headers.get('confaas-receipt');
  let verified = false;
  if (!receipt) {
    console.error('receipt: NONE (the gateway sent no ConFaaS-Receipt header)');
  } else {
    const needed = JSON.parse(Buffer.from(receipt.split('.')[1] ?? '', 'base64url').toString('utf8') || '{}').rtmr3_log_length ?? 0;
    let current = evidence;
    for (let i = 0; i < 50 && current.rtmr3_log.length < needed; i++) {
      await new Promise((res) => setTimeout(res, 200));
      const fresh = await get(`/v1/tds/${encodeURIComponent(evidence.td_id)}/evidence`);
      if (fresh.identity_public_key !== evidence.identity_public_key || fresh.sealing_public_key !== evidence.sealing_public_key) {
        throw new Error(`TD ${evidence.td_id}'s newer evidence has other keys: it is not the TD the event was sealed to`);
      }
      current = fresh;
    }
    const freshChecks = current === evidence ? [] : checkEvidence(current);
    const { lines, claims } = checkReceipt(receipt, current, {
      request: sealed.request,
      response,
      imageId: doc.imageId,
      sealed: { eventMac: sealed.plaintextMac(event), responseMac: sealed.plaintextMac(plaintext) },
    });
    console.error(`receipt of request ${claims?.request_id} (image ${claims?.image_id}, TD ${claims?.td_id})`);
    verified = print(freshChecks) && print(lines) && claims?.sealed === true;
    console.error(verified
      ? `sealed invocation VERIFIED: only TD ${evidence.td_id}'s key opens the event and the answer;`
        + ' the quote\'s DCAP signature chain and MRTD/RTMR0..2 were not checked here (see README: confaas verify)'
      : 'sealed invocation NOT VERIFIED');
    if (opts.save) {
      fs.mkdirSync(opts.save, { recursive: true });
      fs.writeFileSync(path.join(opts.save, 'receipt.jws'), `${receipt}\n`);
      fs.writeFileSync(path.join(opts.save, 'evidence.json'), JSON.stringify(current, null, 2));
      fs.writeFileSync(path.join(opts.save, 'request.bin'), sealed.request);
      fs.writeFileSync(path.join(opts.save, 'response.bin'), response);
      console.error(`saved receipt.jws, evidence.json, request.bin, response.bin in ${opts.save}`);
    }
  }
  if (functionError) {
    console.error(`the function failed (${functionError}); its sealed error document follows`);
  }
  process.stdout.write(plaintext);
  process.stdout.write('\n');
  process.exitCode = verified && !functionError ? 0 : 1;
}

main().catch((e) => {
  console.error(`sealed-invoke: ${e.message}`);
  process.exit(1);
});
