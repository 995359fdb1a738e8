// The ConFaaS formats a caller needs, from docs/sealed-invocations.md and docs/receipts.md:
// the sealed request and response (OHTTP-shaped), the REPORTDATA binding of the evidence's keys,
// the RTMR3 log replay, and the receipt (compact JWS, ES384).
import crypto from 'node:crypto';
import { AEAD_ID, KDF_ID, KEM_ID, expand, extract, sealBase } from './hpke.mjs';

const ascii = (s) => Buffer.from(s, 'ascii');
const u16 = (n) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
const u32 = (n) => Buffer.from([(n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
const b64u = (b) => Buffer.from(b).toString('base64url');
const sha256 = (b) => crypto.createHash('sha256').update(b).digest();
const sha384 = (b) => crypto.createHash('sha384').update(b).digest();

// --- sealed invocations (docs/sealed-invocations.md) ----------------------------------------

const KEY_ID = 0;
/** hdr = key_id ‖ kem_id ‖ kdf_id ‖ aead_id */
const HDR = Buffer.concat([Buffer.from([KEY_ID]), u16(KEM_ID), u16(KDF_ID), u16(AEAD_ID)]);

function lengthPrefixed16(s) {
  const b = Buffer.from(s, 'utf8');
  if (b.length > 0xffff) {
    throw new Error('an image or TD ID longer than 65535 bytes');
  }
  return Buffer.concat([u16(b.length), b]);
}

/** info = "confaas sealed request v1" ‖ 0x00 ‖ hdr ‖ u16be(len(image_id)) ‖ image_id ‖ u16be(len(td_id)) ‖ td_id */
export function requestInfo(imageId, tdId) {
  return Buffer.concat([
    ascii('confaas sealed request v1'), Buffer.from([0]), HDR, lengthPrefixed16(imageId), lengthPrefixed16(tdId),
  ]);
}

/**
 * Seals `event` to a TD's sealing key for one function image. Returns the request to POST and the
 * two things only this caller can do afterwards: open the response, and compute the plaintext MACs
 * the receipt carries.
 */
export function seal(sealingPublicKey, imageId, tdId, event) {
  const { enc, ct, exportSecret } = sealBase(sealingPublicKey, requestInfo(imageId, tdId), Buffer.alloc(0), event);
  const request = Buffer.concat([HDR, enc, ct]);
  const macKey = exportSecret(ascii('confaas receipt mac v1'), 32);
  return {
    request,
    /** response = nonce (16) ‖ AES-128-GCM(key, iv, aad = "", plaintext) with key/iv per RFC 9458 §4.4. */
    openResponse(response) {
      if (response.length < 16 + 16) {
        throw new Error(`the sealed response is ${response.length} bytes; it cannot hold a nonce and a tag`);
      }
      const nonce = response.subarray(0, 16);
      const secret = exportSecret(ascii('confaas sealed response v1'), 16);
      const prk = extract(Buffer.concat([enc, nonce]), secret);
      const key = expand(prk, ascii('key'), 16);
      const iv = expand(prk, ascii('nonce'), 12);
      const body = response.subarray(16);
      const decipher = crypto.createDecipheriv('aes-128-gcm', key, iv);
      decipher.setAuthTag(body.subarray(body.length - 16));
      try {
        return Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]);
      } catch {
        throw new Error('the sealed response does not open with this request\'s context: altered, or the reply to another request');
      }
    },
    plaintextMac(plaintext) {
      return b64u(crypto.createHmac('sha256', macKey).update(plaintext).digest());
    },
  };
}

// --- evidence (docs/receipts.md §2, §4, §5) -----------------------------------------------------

/**
 * The TD report body inside a quote: a v4 quote has it right after the 48-byte header; a v5 quote
 * has a 6-byte body descriptor (u16 type, u32 size) in between. Offsets inside the body: RTMR3 at
 * 472, REPORTDATA at 520.
 */
export function quoteFields(quote) {
  if (quote.length < 48 + 6 + 584) {
    throw new Error(`the quote is ${quote.length} bytes, too short for a TD quote`);
  }
  const version = quote.readUInt16LE(0);
  let body;
  if (version === 4) {
    body = 48;
  } else if (version === 5) {
    body = 48 + 6;
  } else {
    throw new Error(`quote version ${version}; TD quotes are version 4 or 5`);
  }
  if (quote.readUInt32LE(4) !== 0x81) {
    throw new Error('not a TDX quote (tee_type is not 0x81)');
  }
  return {
    version,
    rtmr3: quote.subarray(body + 472, body + 520),
    reportData: quote.subarray(body + 520, body + 584),
  };
}

/**
 * REPORTDATA[0..48) = SHA-384("confaas-reportdata-v2" ‖ u32be(len(identity)) ‖ identity
 *                             ‖ u32be(len(sealing)) ‖ sealing ‖ nonce); REPORTDATA[48..64) = 0
 */
export function reportDataBinding(identitySpki, sealingKey, nonce) {
  const digest = sha384(Buffer.concat([
    ascii('confaas-reportdata-v2'), u32(identitySpki.length), identitySpki, u32(sealingKey.length), sealingKey, nonce,
  ]));
  return Buffer.concat([digest, Buffer.alloc(16)]);
}

/** RTMR3 after the first `n` log lines: from 48 zero bytes, rtmr = SHA-384(rtmr ‖ SHA-384(line)). */
export function replayRtmr3(lines, n = lines.length) {
  let rtmr = Buffer.alloc(48);
  for (const line of lines.slice(0, n)) {
    rtmr = sha384(Buffer.concat([rtmr, sha384(ascii(line))]));
  }
  return rtmr;
}

const ADD_MANIFEST = 'github.com/intel/ACON AddManifest ';

/**
 * The checks a caller makes on evidence before sealing to it, without DCAP: the key binding and
 * the RTMR3 log. Whether the quote itself is genuine (Intel-rooted, or the simulated dev root)
 * and the TD's MRTD/RTMR0..2 is what `confaas verify` (or any DCAP library) checks.
 * Returns [{check, ok, message}].
 */
export function checkEvidence(ev) {
  const lines = [];
  const add = (check, ok, message) => lines.push({ check, ok, message });
  const suite = ev.sealing_suite ?? {};
  add('SUITE', suite.kem_id === KEM_ID && suite.kdf_id === KDF_ID && suite.aead_id === AEAD_ID,
    `sealing suite ${JSON.stringify(suite)} (this client speaks KEM 0x0020, KDF 0x0001, AEAD 0x0001)`);
  const quote = Buffer.from(ev.quote, 'base64url');
  const fields = quoteFields(quote);
  const expected = reportDataBinding(
    Buffer.from(ev.identity_public_key, 'base64url'), Buffer.from(ev.sealing_public_key, 'base64url'),
    Buffer.from(ev.nonce, 'base64url'));
  add('KEY_BINDING', expected.equals(fields.reportData),
    expected.equals(fields.reportData)
      ? 'the quote\'s REPORTDATA binds the identity key, the sealing key and the nonce'
      : 'the quote\'s REPORTDATA does not bind these keys and nonce: the keys are not the TD\'s');
  const replayed = replayRtmr3(ev.rtmr3_log);
  add('RTMR3_LOG', replayed.equals(fields.rtmr3),
    replayed.equals(fields.rtmr3)
      ? `the ${ev.rtmr3_log.length}-entry RTMR3 log replays to the quoted RTMR3`
      : `the RTMR3 log replays to ${replayed.toString('hex')} but the quote has ${fields.rtmr3.toString('hex')}`);
  add('QUOTE', null, `quote v${fields.version} not verified here: its signature chain (DCAP) and MRTD/RTMR0..2 are for`
    + ' `confaas verify` or another DCAP verifier; everything above rests on the quote being genuine');
  return lines;
}

// --- receipts (docs/receipts.md §3, §5) -------------------------------------------------------

/** RFC 7638 thumbprint of a P-384 public JWK: SHA-256 of {"crv","kty","x","y"} in that order. */
export function thumbprint(jwk) {
  return b64u(sha256(Buffer.from(`{"crv":"${jwk.crv}","kty":"${jwk.kty}","x":"${jwk.x}","y":"${jwk.y}"}`, 'utf8')));
}

/**
 * Checks a receipt against the TD's evidence: signature by the identity key the quote binds (the
 * SubjectPublicKeyInfo DER, not the convenience JWK), TD, RTMR3 prefix and images, and the hashes
 * of the bytes given (request/response: what went over the wire, the ciphertexts for a sealed call).
 * Optionally checks the image the request was for (`imageId`) and, for a sealed call, the plaintext
 * MACs only the caller can compute (`sealed: {eventMac, responseMac}`).
 * Returns {lines: [{check, ok, message}], claims}.
 */
export function checkReceipt(receipt, ev, { request, response, imageId, sealed } = {}) {
  const lines = [];
  const add = (check, ok, message) => lines.push({ check, ok, message });
  const parts = receipt.trim().split('.');
  if (parts.length !== 3 || !parts.every((p) => /^[A-Za-z0-9_-]*$/.test(p))) {
    add('RECEIPT_FORMAT', false, 'not a compact JWS (three base64url parts)');
    return { lines, claims: null };
  }
  const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
  const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  const formatOk = header.alg === 'ES384' && header.typ === 'confaas-receipt+jwt';
  add('RECEIPT_FORMAT', formatOk, `alg ${header.alg}, typ ${header.typ}`);
  if (!formatOk) {
    return { lines, claims };
  }

  const key = crypto.createPublicKey({ key: Buffer.from(ev.identity_public_key, 'base64url'), format: 'der', type: 'spki' });
  const jwk = key.export({ format: 'jwk' });
  const kid = thumbprint(jwk);
  const signed = crypto.verify('sha384', ascii(`${parts[0]}.${parts[1]}`), { key, dsaEncoding: 'ieee-p1363' },
    Buffer.from(parts[2], 'base64url'));
  if (header.kid !== kid) {
    add('SIGNATURE', false, `kid ${header.kid} is not the thumbprint ${kid} of this TD's identity key: the receipt comes from another TD`);
  } else {
    add('SIGNATURE', signed, signed
      ? 'signed (ES384) by the identity key the quote binds'
      : 'the ES384 signature does not verify with the TD\'s identity key: altered, or not signed by this TD');
  }
  add('TD_ID', claims.td_id === ev.td_id, `the receipt names TD ${claims.td_id}; the evidence is TD ${ev.td_id}`);

  const n = claims.rtmr3_log_length;
  if (!Number.isInteger(n) || n > ev.rtmr3_log.length) {
    add('RECEIPT_RTMR3', false, `the receipt covers ${n} RTMR3 log entries; the evidence has ${ev.rtmr3_log.length}: fetch newer evidence`);
  } else {
    const prefix = replayRtmr3(ev.rtmr3_log, n).toString('hex');
    add('RECEIPT_RTMR3', prefix === claims.rtmr3, prefix === claims.rtmr3
      ? `RTMR3 then was the replay of the first ${n} log entries`
      : `the receipt's RTMR3 ${claims.rtmr3} is not the replay ${prefix} of the first ${n} entries`);
    const loaded = ev.rtmr3_log.slice(0, n).filter((l) => l.startsWith(ADD_MANIFEST)).map((l) => l.slice(ADD_MANIFEST.length));
    const same = JSON.stringify(loaded) === JSON.stringify(claims.images) && loaded.includes(claims.image_id);
    add('IMAGES', same, same
      ? `image ${claims.image_id} ran next to exactly ${loaded.length - 1} other measured image(s)`
      : `the receipt says image ${claims.image_id} among ${JSON.stringify(claims.images)}; the log prefix loaded ${JSON.stringify(loaded)}`);
  }
  if (imageId !== undefined) {
    add('IMAGE_ID', claims.image_id === imageId, `the receipt's image is ${claims.image_id}; the request was for ${imageId}`);
  }
  const hash = (check, what, bytes, claimed) => {
    if (bytes === undefined) {
      return;
    }
    const actual = b64u(sha256(bytes));
    add(check, actual === claimed, actual === claimed
      ? `the ${what} (${bytes.length} bytes) is what the TD ${check === 'REQUEST_HASH' ? 'received' : 'sent'}`
      : `the ${what} hashes to ${actual} but the receipt says ${claimed}`);
  };
  hash('REQUEST_HASH', claims.sealed ? 'sealed request' : 'event', request, claims.event_sha256);
  hash('RESPONSE_HASH', claims.sealed ? 'sealed response' : 'response', response, claims.response_sha256);
  if (sealed) {
    const ok = claims.sealed === true && claims.event_plaintext_mac === sealed.eventMac
      && claims.response_plaintext_mac === sealed.responseMac;
    add('PLAINTEXTS', ok, ok
      ? 'the TD\'s MACs of the event and the response are over exactly what you sent and read'
      : 'the receipt\'s plaintext MACs do not match what you sent and read (or it is not a sealed receipt)');
  }
  return { lines, claims };
}
