// HPKE (RFC 9180), the one suite ConFaaS seals with, base mode, sender side only:
// DHKEM(X25519, HKDF-SHA256) 0x0020, HKDF-SHA256 0x0001, AES-128-GCM 0x0001.
// Written from RFC 9180 §4 (KDF labels), §4.1 (DHKEM), §5.1 (key schedule), §5.2 (Seal),
// §5.3 (Export) and §7 (suite constants), with node:crypto only.
import crypto from 'node:crypto';

export const KEM_ID = 0x0020;
export const KDF_ID = 0x0001;
export const AEAD_ID = 0x0001;
const NSECRET = 32; // DHKEM(X25519, HKDF-SHA256): Nsecret
const NK = 16; // AES-128-GCM key
const NN = 12; // AES-128-GCM nonce
const NH = 32; // HKDF-SHA256 output
const MODE_BASE = 0x00;

const ascii = (s) => Buffer.from(s, 'ascii');
const u16 = (n) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);

/** HKDF-Extract (RFC 5869 §2.2): HMAC-SHA256 keyed with the salt (empty salt = 32 zero bytes, as HMAC pads). */
export function extract(salt, ikm) {
  return crypto.createHmac('sha256', salt).update(ikm).digest();
}

/** HKDF-Expand (RFC 5869 §2.3). */
export function expand(prk, info, length) {
  const out = [];
  let t = Buffer.alloc(0);
  for (let i = 1; Buffer.concat(out).length < length; i++) {
    t = crypto.createHmac('sha256', prk).update(Buffer.concat([t, info, Buffer.from([i])])).digest();
    out.push(t);
  }
  return Buffer.concat(out).subarray(0, length);
}

// RFC 9180 §4: LabeledExtract / LabeledExpand, "HPKE-v1" ‖ suite_id ‖ label.
function labeledExtract(suiteId, salt, label, ikm) {
  return extract(salt, Buffer.concat([ascii('HPKE-v1'), suiteId, ascii(label), ikm]));
}

function labeledExpand(suiteId, prk, label, info, length) {
  return expand(prk, Buffer.concat([u16(length), ascii('HPKE-v1'), suiteId, ascii(label), info]), length);
}

const KEM_SUITE = Buffer.concat([ascii('KEM'), u16(KEM_ID)]);
const HPKE_SUITE = Buffer.concat([ascii('HPKE'), u16(KEM_ID), u16(KDF_ID), u16(AEAD_ID)]);

/** A raw 32-byte X25519 public key as a node KeyObject. */
function x25519Public(raw) {
  if (raw.length !== 32) {
    throw new Error(`an X25519 public key is 32 bytes, not ${raw.length}`);
  }
  return crypto.createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: raw.toString('base64url') }, format: 'jwk' });
}

function rawPublic(keyObject) {
  return Buffer.from(keyObject.export({ format: 'jwk' }).x, 'base64url');
}

/**
 * RFC 9180 §4.1 Encap(pkR) for DHKEM(X25519, HKDF-SHA256): a fresh ephemeral key pair, the DH
 * output extracted and expanded with enc ‖ pkR as context. Returns {sharedSecret, enc}.
 */
function encap(pkRRaw) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('x25519');
  const dh = crypto.diffieHellman({ privateKey, publicKey: x25519Public(pkRRaw) });
  if (dh.equals(Buffer.alloc(32))) {
    throw new Error('X25519 gave the all-zero shared secret: the sealing key is a low-order point');
  }
  const enc = rawPublic(publicKey);
  const kemContext = Buffer.concat([enc, pkRRaw]);
  const eaePrk = labeledExtract(KEM_SUITE, Buffer.alloc(0), 'eae_prk', dh);
  return { sharedSecret: labeledExpand(KEM_SUITE, eaePrk, 'shared_secret', kemContext, NSECRET), enc };
}

/** RFC 9180 §5.1 KeySchedule in base mode (no PSK). */
function keySchedule(sharedSecret, info) {
  const pskIdHash = labeledExtract(HPKE_SUITE, Buffer.alloc(0), 'psk_id_hash', Buffer.alloc(0));
  const infoHash = labeledExtract(HPKE_SUITE, Buffer.alloc(0), 'info_hash', info);
  const context = Buffer.concat([Buffer.from([MODE_BASE]), pskIdHash, infoHash]);
  const secret = labeledExtract(HPKE_SUITE, sharedSecret, 'secret', Buffer.alloc(0));
  return {
    key: labeledExpand(HPKE_SUITE, secret, 'key', context, NK),
    baseNonce: labeledExpand(HPKE_SUITE, secret, 'base_nonce', context, NN),
    exporterSecret: labeledExpand(HPKE_SUITE, secret, 'exp', context, NH),
  };
}

/**
 * RFC 9180 §5.1.1 SetupBaseS(pkR, info) followed by one §5.2 Seal(aad, pt): the first message of
 * the context uses sequence number 0, so its nonce is base_nonce itself. Returns the encapsulated
 * key, the ciphertext (with its 16-byte tag) and export(context, length) (§5.3) of this context.
 */
export function sealBase(pkRRaw, info, aad, plaintext) {
  const { sharedSecret, enc } = encap(pkRRaw);
  const { key, baseNonce, exporterSecret } = keySchedule(sharedSecret, info);
  const cipher = crypto.createCipheriv('aes-128-gcm', key, baseNonce);
  cipher.setAAD(aad);
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  const exportSecret = (exporterContext, length) =>
    labeledExpand(HPKE_SUITE, exporterSecret, 'sec', exporterContext, length);
  return { enc, ct, exportSecret };
}
