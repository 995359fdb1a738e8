package dev.confaas.agent;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.bouncycastle.crypto.AsymmetricCipherKeyPair;
import org.bouncycastle.crypto.InvalidCipherTextException;
import org.bouncycastle.crypto.hpke.HPKE;
import org.bouncycastle.crypto.hpke.HPKEContext;
import org.bouncycastle.crypto.hpke.HPKEContextWithEncapsulation;

/**
 * Sealed invocations in the shape of Oblivious HTTP (RFC 9458): the caller is the OHTTP client, the
 * TD's agent the OHTTP gateway, and the ConFaaS host only the relay, which sees ciphertext. The
 * content is the raw event and response bytes rather than Binary HTTP, and the HPKE {@code info}
 * binds the function's image ID and the TD ID, so a request sealed for one function in one TD opens
 * nowhere else. docs/sealed-invocations.md is the wire format for other languages.
 *
 * <pre>
 * hdr      = key_id (1 byte, 0) ‖ kem_id u16 ‖ kdf_id u16 ‖ aead_id u16          (RFC 9458 §4.3)
 * info     = "confaas sealed request v1" ‖ 0x00 ‖ hdr
 *            ‖ u16be(len(image_id)) ‖ image_id ‖ u16be(len(td_id)) ‖ td_id     (UTF-8)
 * enc, ct  = HPKE SealBase(pkR = the TD's sealing key, info, aad = "", event)
 * request  = hdr ‖ enc (32) ‖ ct
 *
 * secret   = context.Export("confaas sealed response v1", 16)                  (RFC 9458 §4.4)
 * nonce    = 16 random bytes   (max(Nn, Nk))
 * prk      = HKDF-Extract(salt = enc ‖ nonce, secret)
 * key      = HKDF-Expand(prk, "key", 16);  iv = HKDF-Expand(prk, "nonce", 12)
 * response = nonce ‖ AES-128-GCM(key, iv, aad = "", response bytes)
 *
 * mac key  = context.Export("confaas receipt mac v1", 32)
 * receipt's event_plaintext_mac / response_plaintext_mac = base64url HMAC-SHA256(mac key, plaintext)
 * </pre>
 *
 * The receipt's plaintext MACs let the caller — and only the caller, who holds the context — check
 * that the TD saw its event and sent this response, without the host learning a hash it could
 * test guesses against.
 */
public final class SealedMessages {
  /** The key ID of a TD's (one) sealing key. */
  public static final byte KEY_ID = 0;
  public static final String REQUEST_LABEL = "confaas sealed request v1";
  public static final String RESPONSE_LABEL = "confaas sealed response v1";
  public static final String RECEIPT_MAC_LABEL = "confaas receipt mac v1";
  /** hdr's length: key ID and three suite IDs. */
  public static final int HEADER_BYTES = 7;
  private static final int ENC_BYTES = SealingSuite.PUBLIC_KEY_BYTES;
  private static final int NK = 16;
  private static final int NN = 12;
  private static final int TAG = 16;
  /** Sealing adds at most this much to a request or response. */
  public static final int OVERHEAD = HEADER_BYTES + ENC_BYTES + TAG;

  private static final SecureRandom RANDOM = new SecureRandom();

  private SealedMessages() {}

  /** A sealed message that does not open: altered, or sealed for another key, function or TD. */
  public static final class SealedMessageException extends Exception {
    SealedMessageException(String message) {
      super(message);
    }
  }

  /** The caller's side of one sealed invocation: the request to send, and how to open the reply. */
  public static final class ClientRequest {
    private final byte[] encapsulated;
    private final HPKEContext context;
    private final byte[] enc;

    private ClientRequest(byte[] encapsulated, HPKEContext context, byte[] enc) {
      this.encapsulated = encapsulated;
      this.context = context;
      this.enc = enc;
    }

    /** The encapsulated request: what goes to the TD (InvokeRequest.sealed_request). */
    public byte[] encapsulated() {
      return encapsulated.clone();
    }

    /** Opens the TD's encapsulated response (InvokeResponse.sealed_response). */
    public byte[] openResponse(byte[] response) throws SealedMessageException {
      if (response.length < 16 + TAG) {
        throw new SealedMessageException(
            "the sealed response is " + response.length + " bytes; it cannot hold a nonce and a tag");
      }
      byte[] nonce = Arrays.copyOf(response, 16);
      try {
        return aes(Cipher.DECRYPT_MODE, context, enc, nonce, Arrays.copyOfRange(response, 16, response.length));
      } catch (GeneralSecurityException e) {
        throw new SealedMessageException(
            "the sealed response does not open with this request's context: altered, or the reply to"
                + " another request");
      }
    }

    /** base64url HMAC-SHA256 of {@code plaintext} under this invocation's receipt MAC key. */
    public String plaintextMac(byte[] plaintext) {
      return mac(context, plaintext);
    }
  }

  /** The TD's side: the opened event, and how to seal the response to it. */
  public static final class ServerRequest {
    private final byte[] event;
    private final HPKEContext context;
    private final byte[] enc;

    private ServerRequest(byte[] event, HPKEContext context, byte[] enc) {
      this.event = event;
      this.context = context;
      this.enc = enc;
    }

    public byte[] event() {
      return event;
    }

    /** The encapsulated response carrying {@code response}, for the caller only. */
    public byte[] sealResponse(byte[] response) {
      byte[] nonce = new byte[16];
      RANDOM.nextBytes(nonce);
      try {
        byte[] ct = aes(Cipher.ENCRYPT_MODE, context, enc, nonce, response);
        return ByteBuffer.allocate(nonce.length + ct.length).put(nonce).put(ct).array();
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException("AES-128-GCM failed: " + e.getMessage(), e);
      }
    }

    public String plaintextMac(byte[] plaintext) {
      return mac(context, plaintext);
    }
  }

  /**
   * Seals {@code event} to a TD.
   *
   * @param sealingPublicKey the TD's sealing key, from evidence the caller verified
   * @param imageId the function's image ID the event is for
   * @param tdId the TD's ID
   */
  public static ClientRequest seal(byte[] sealingPublicKey, String imageId, String tdId, byte[] event) {
    if (sealingPublicKey.length != SealingSuite.PUBLIC_KEY_BYTES) {
      throw new IllegalArgumentException(
          "a sealing public key is " + SealingSuite.PUBLIC_KEY_BYTES + " bytes (X25519), not "
              + sealingPublicKey.length);
    }
    HPKE hpke = SealingSuite.hpke();
    byte[] hdr = header();
    HPKEContextWithEncapsulation ctx =
        hpke.setupBaseS(hpke.deserializePublicKey(sealingPublicKey), info(hdr, imageId, tdId));
    byte[] ct;
    try {
      ct = ctx.seal(new byte[0], event);
    } catch (InvalidCipherTextException e) {
      throw new IllegalStateException("HPKE seal failed: " + e.getMessage(), e);
    }
    byte[] enc = ctx.getEncapsulation();
    byte[] out =
        ByteBuffer.allocate(hdr.length + enc.length + ct.length).put(hdr).put(enc).put(ct).array();
    return new ClientRequest(out, ctx, enc);
  }

  /**
   * Opens an encapsulated request inside the TD.
   *
   * @throws SealedMessageException naming what is wrong: the header, or that it does not open for
   *     this image and TD
   */
  public static ServerRequest open(
      AsymmetricCipherKeyPair sealingKey, String imageId, String tdId, byte[] request)
      throws SealedMessageException {
    if (request.length < HEADER_BYTES + ENC_BYTES + TAG) {
      throw new SealedMessageException(
          "the sealed request is " + request.length + " bytes; at least " + (HEADER_BYTES + ENC_BYTES + TAG)
              + " are needed for its header, encapsulated key and tag");
    }
    byte[] hdr = Arrays.copyOf(request, HEADER_BYTES);
    if (!Arrays.equals(hdr, header())) {
      throw new SealedMessageException(
          "the sealed request's header "
              + java.util.HexFormat.of().formatHex(hdr)
              + " is not key 0 with KEM 0x0020, KDF 0x0001, AEAD 0x0001 ("
              + java.util.HexFormat.of().formatHex(header())
              + ")");
    }
    byte[] enc = Arrays.copyOfRange(request, HEADER_BYTES, HEADER_BYTES + ENC_BYTES);
    HPKE hpke = SealingSuite.hpke();
    HPKEContext ctx = hpke.setupBaseR(enc, sealingKey, info(hdr, imageId, tdId));
    try {
      byte[] event = ctx.open(new byte[0], Arrays.copyOfRange(request, HEADER_BYTES + ENC_BYTES, request.length));
      return new ServerRequest(event, ctx, enc);
    } catch (InvalidCipherTextException e) {
      throw new SealedMessageException(
          "the sealed request does not open for image "
              + imageId
              + " in TD "
              + tdId
              + ": it was sealed for another function or TD (or another key), or altered");
    }
  }

  static byte[] header() {
    return ByteBuffer.allocate(HEADER_BYTES)
        .put(KEY_ID)
        .putShort(SealingSuite.KEM_ID)
        .putShort(SealingSuite.KDF_ID)
        .putShort(SealingSuite.AEAD_ID)
        .array();
  }

  static byte[] info(byte[] hdr, String imageId, String tdId) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(REQUEST_LABEL.getBytes(StandardCharsets.US_ASCII));
    out.write(0);
    out.writeBytes(hdr);
    for (String s : new String[] {imageId, tdId}) {
      byte[] b = s.getBytes(StandardCharsets.UTF_8);
      if (b.length > 0xffff) {
        throw new IllegalArgumentException("an image or TD ID longer than 65535 bytes");
      }
      out.write(b.length >> 8);
      out.write(b.length & 0xff);
      out.writeBytes(b);
    }
    return out.toByteArray();
  }

  private static byte[] aes(int mode, HPKEContext ctx, byte[] enc, byte[] nonce, byte[] data)
      throws GeneralSecurityException {
    byte[] secret = ctx.export(RESPONSE_LABEL.getBytes(StandardCharsets.US_ASCII), NK);
    byte[] salt = ByteBuffer.allocate(enc.length + nonce.length).put(enc).put(nonce).array();
    byte[] prk = ctx.extract(salt, secret);
    byte[] key = ctx.expand(prk, "key".getBytes(StandardCharsets.US_ASCII), NK);
    byte[] iv = ctx.expand(prk, "nonce".getBytes(StandardCharsets.US_ASCII), NN);
    Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
    c.init(mode, new SecretKeySpec(key, "AES"), new GCMParameterSpec(128, iv));
    return c.doFinal(data);
  }

  private static String mac(HPKEContext ctx, byte[] plaintext) {
    try {
      Mac m = Mac.getInstance("HmacSHA256");
      m.init(
          new SecretKeySpec(ctx.export(RECEIPT_MAC_LABEL.getBytes(StandardCharsets.US_ASCII), 32), "HmacSHA256"));
      return Receipt.b64(m.doFinal(plaintext));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HMAC-SHA256 failed: " + e.getMessage(), e);
    }
  }
}
