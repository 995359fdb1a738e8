package dev.confaas.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.protobuf.ByteString;
import dev.confaas.agent.AgentLimits;
import dev.confaas.agent.Receipt;
import dev.confaas.agent.ReceiptVerifier;
import dev.confaas.agent.ReceiptVerifier.Check;
import dev.confaas.agent.ReceiptVerifier.Outcome;
import dev.confaas.agent.ReportDataBinding;
import dev.confaas.agent.SealedMessages;
import dev.confaas.agent.TdEvidence;
import dev.confaas.agent.TlsIdentity;
import dev.confaas.agent.v1.AddBlobChunk;
import dev.confaas.agent.v1.AddBlobResponse;
import dev.confaas.agent.v1.AddManifestRequest;
import dev.confaas.agent.v1.FunctionError;
import dev.confaas.agent.v1.InvokeRequest;
import dev.confaas.agent.v1.InvokeResponse;
import dev.confaas.agent.v1.ReportRequest;
import dev.confaas.agent.v1.ReportResponse;
import dev.confaas.agent.v1.StartRequest;
import dev.confaas.agent.v1.TdAgentGrpc;
import dev.confaas.attestation.Collateral;
import dev.confaas.attestation.QuoteVerifier;
import dev.confaas.attestation.ReferenceValues;
import dev.confaas.attestation.SimulatedPki;
import dev.confaas.attestation.SimulatedTdxModule;
import dev.confaas.attestation.TdxQuote;
import dev.confaas.image.LayerDigests;
import dev.confaas.image.LayerTar;
import dev.confaas.image.Manifest;
import dev.confaas.image.SignedManifest;
import dev.confaas.image.SigningKeys;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Receipts and the sealing key at the agent's gRPC API: two in-process TDs (simulated TDX under one
 * dev PKI, real image loading and RTMR3 measurement, real functions), each signing a receipt per
 * invocation, checked with agent-api's {@link ReceiptVerifier} as a caller would, offline.
 *
 * <p>With {@code -Dconfaas.receipts.example=DIR} the first test also writes the example receipt,
 * evidence, event, response and collateral that docs/receipts.md shows and agent-api's
 * ReceiptExampleTest verifies.
 */
class ReceiptTest {
  @TempDir static Path tmp;
  private static SimulatedPki pki;
  private static Collateral collateral;
  private static Td tdA;
  private static Td tdB;
  private static String upper; // image ID, loaded in both TDs
  private static String lower; // image ID, loaded in TD a only

  /** One TD: simulated TDX module, loader, keys, supervisor and the agent's service on loopback. */
  private static final class Td implements AutoCloseable {
    final String id;
    final SimulatedTdxModule tdx;
    final InstanceSupervisor supervisor;
    final Server server;
    final ManagedChannel channel;
    final TdAgentGrpc.TdAgentBlockingStub agent;

    Td(String id) throws Exception {
      this.id = id;
      tdx = new SimulatedTdxModule(pki, "confaas-agent".getBytes(StandardCharsets.US_ASCII));
      Path state = Files.createDirectories(tmp.resolve(id));
      AconImageLoader loader = new AconImageLoader(state.resolve("images"), tdx);
      TlsIdentity identity = TlsIdentity.generate("confaas-td-agent", Clock.systemUTC());
      SealingKey sealing = SealingKey.generate();
      supervisor = InstanceSupervisor.start(InstanceSupervisor.Config.defaults(state.resolve("run")));
      server =
          NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
              .maxInboundMessageSize(AgentLimits.MAX_MESSAGE_BYTES)
              .addService(
                  new TdAgentService(
                      supervisor,
                      loader,
                      new QuoteReporter(tdx, identity, sealing, loader::rtmr3Log),
                      new ReceiptSigner(identity, id, loader::rtmr3Log, Clock.systemUTC()),
                      sealing))
              .build()
              .start();
      channel =
          NettyChannelBuilder.forAddress("127.0.0.1", server.getPort())
              .usePlaintext()
              .maxInboundMessageSize(AgentLimits.MAX_MESSAGE_BYTES)
              .build();
      agent = TdAgentGrpc.newBlockingStub(channel);
    }

    TdAgentGrpc.TdAgentBlockingStub agent() {
      return agent.withDeadlineAfter(60, TimeUnit.SECONDS);
    }

    /** Loads a signed image and its layers through AddManifest and AddBlob. */
    String load(SignedManifest signed, List<Path> tars) throws Exception {
      String imageId =
          agent()
              .addManifest(
                  AddManifestRequest.newBuilder()
                      .setManifest(ByteString.copyFrom(signed.manifest().canonicalBytes()))
                      .setSignature(ByteString.copyFrom(signed.signature()))
                      .setCertificate(ByteString.copyFrom(signed.certificateDer()))
                      .build())
              .getImageId();
      for (Path tar : tars) {
        upload(LayerDigests.sha384(tar).toString(), Files.readAllBytes(tar));
      }
      return imageId;
    }

    private void upload(String digest, byte[] data) throws Exception {
      CompletableFuture<AddBlobResponse> done = new CompletableFuture<>();
      StreamObserver<AddBlobChunk> in =
          TdAgentGrpc.newStub(channel)
              .withDeadlineAfter(60, TimeUnit.SECONDS)
              .addBlob(
                  new StreamObserver<>() {
                    @Override
                    public void onNext(AddBlobResponse r) {
                      done.complete(r);
                    }

                    @Override
                    public void onError(Throwable t) {
                      done.completeExceptionally(t);
                    }

                    @Override
                    public void onCompleted() {}
                  });
      int chunk = AgentLimits.MAX_CHUNK_BYTES;
      for (int off = 0; off < data.length; off += chunk) {
        AddBlobChunk.Builder b =
            AddBlobChunk.newBuilder()
                .setData(ByteString.copyFrom(data, off, Math.min(chunk, data.length - off)));
        if (off == 0) {
          b.setDigest(digest).setTotalSize(data.length);
        }
        in.onNext(b.build());
      }
      in.onCompleted();
      done.get(60, TimeUnit.SECONDS);
    }

    InvokeResponse invoke(String imageId, String event) {
      return agent()
          .invoke(
              InvokeRequest.newBuilder()
                  .setImageId(imageId)
                  .setPayload(ByteString.copyFromUtf8(event))
                  .setTimeoutMs(20_000)
                  .build());
    }

    /** Fresh evidence, as the pool keeps it and an evidence route would serve it. */
    TdEvidence evidence(Map<String, List<String>> reference) {
      byte[] nonce = new byte[32];
      new SecureRandom().nextBytes(nonce);
      ReportResponse r =
          agent().report(ReportRequest.newBuilder().setNonce(ByteString.copyFrom(nonce)).build());
      return TdEvidence.fromReport(id, "process", nonce, r, reference);
    }

    ReferenceValues referenceValues() {
      return ReferenceValues.builder()
          .allowMrTd(tdx.mrTd())
          .allowRtmr(0, new byte[48])
          .allowRtmr(1, new byte[48])
          .allowRtmr(2, new byte[48])
          .build();
    }

    Map<String, List<String>> referenceJson() {
      String zero = "0".repeat(96);
      return Map.of(
          "mrtd", List.of(HexFormat.of().formatHex(tdx.mrTd())),
          "rtmr0", List.of(zero),
          "rtmr1", List.of(zero),
          "rtmr2", List.of(zero));
    }

    @Override
    public void close() throws Exception {
      channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
      server.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
      supervisor.close();
    }
  }

  @BeforeAll
  static void start() throws Exception {
    pki = SimulatedPki.generate(Instant.now());
    collateral = pki.collateral(Clock.systemUTC(), Duration.ofDays(3650));
    tdA = new Td("td-a");
    tdB = new Td("td-b");
    assumeTrue(
        tdA.supervisor.isolation().namespaces() && tdA.supervisor.isolation().overlayfs(),
        "this host allows no namespaces or overlayfs, which images with a root filesystem need");
    Path base = rootfs();
    Path baseTar = tmp.resolve("base.tar");
    LayerTar.write(base, "", baseTar);
    SigningKeys author = SigningKeys.generate("author", Clock.systemUTC());
    String handler =
        String.join(
            "\n",
            "  case \"$EVENT\" in",
            "    fail) fail Handled.BadInput \"cannot handle $EVENT\"; FAILED=1 ;;",
            "    *) OUT=$(printf '%s' \"$EVENT\" | tr 'a-z' 'A-Z') ;;",
            "  esac");
    Path upperTar = appLayer("upper", handler);
    Path lowerTar = appLayer("lower", "  OUT=$(printf '%s' \"$EVENT\" | tr 'A-Z' 'a-z')");
    SignedManifest upperImage = author.signer().signed(function(baseTar, upperTar));
    SignedManifest lowerImage = author.signer().signed(function(baseTar, lowerTar));
    upper = tdA.load(upperImage, List.of(baseTar, upperTar));
    lower = tdA.load(lowerImage, List.of(lowerTar));
    assertEquals(upper, tdB.load(upperImage, List.of(baseTar, upperTar)));
  }

  @AfterAll
  static void stop() throws Exception {
    for (Td td : new Td[] {tdA, tdB}) {
      if (td != null) {
        td.close();
      }
    }
  }

  private static Manifest function(Path baseTar, Path appTar) throws Exception {
    return Manifest.builder()
        .addLayer(LayerDigests.sha384(baseTar))
        .addLayer(LayerDigests.sha384(appTar))
        .entrypoint("/bin/sh", "/app/bootstrap")
        .workingDir("/app")
        .maxInstances(2)
        .build();
  }

  private static Path appLayer(String name, String handlerBody) throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("layer-" + name));
    ShellRuntime.write(dir, "app", handlerBody);
    Path tar = tmp.resolve(name + ".tar");
    LayerTar.write(dir, "", tar);
    return tar;
  }

  /** A minimal root filesystem: the tools the shell runtime uses, with their libraries. */
  private static Path rootfs() throws Exception {
    Path base = Files.createDirectories(tmp.resolve("rootfs"));
    Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwxr-xr-x"));
    Process p =
        new ProcessBuilder(
                "/bin/sh",
                "-c",
                "set -eu; root=$1; shift; for b in \"$@\"; do p=$(command -v \"$b\"); mkdir -p"
                    + " \"$root/bin\"; cp -L \"$p\" \"$root/bin/$b\"; ldd \"$p\" | grep -o '/[^"
                    + " ]*' | while read -r lib; do mkdir -p \"$root$(dirname \"$lib\")\"; cp -L"
                    + " \"$lib\" \"$root$lib\"; done; done",
                "mkroot",
                base.toString(),
                "sh",
                "curl",
                "cat",
                "tr",
                "grep",
                "cut",
                "mktemp")
            .inheritIO()
            .start();
    assertTrue(
        p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, "could not build the test rootfs");
    return base;
  }

  private static ReceiptVerifier verifier(Td td) {
    return ReceiptVerifier.of(
            QuoteVerifier.trusting(pki.rootCertificate(), Clock.systemUTC()), collateral)
        .withReferenceValues(td.referenceValues());
  }

  private static String b64(byte[] b) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  /** The receipt with its payload replaced by {@code edit} of it, keeping header and signature. */
  private static String withPayload(String receipt, java.util.function.UnaryOperator<String> edit) {
    String[] parts = receipt.split("\\.");
    String payload = new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8);
    String edited = edit.apply(payload);
    assertFalse(edited.equals(payload), "the edit changed nothing in " + payload);
    return parts[0] + "." + b64(edited.getBytes(StandardCharsets.UTF_8)) + "." + parts[2];
  }

  private static void assertRefused(ReceiptVerifier.Result r, Check check, String inMessage) {
    assertFalse(r.verified(), "accepted an altered receipt:\n" + r);
    ReceiptVerifier.Line line = r.line(check).orElseThrow(() -> new AssertionError("no " + check + " line:\n" + r));
    assertEquals(Outcome.FAIL, line.outcome(), r.toString());
    assertTrue(line.message().contains(inMessage), line.message());
  }

  @Test
  void reportReturnsTheSealingKeyAndReportDataBindsBothKeysAndTheNonce() {
    byte[] nonce = "a nonce of at least sixteen bytes".getBytes(StandardCharsets.US_ASCII);
    ReportResponse r =
        tdA.agent().report(ReportRequest.newBuilder().setNonce(ByteString.copyFrom(nonce)).build());
    assertEquals(32, r.getSealingPublicKey().size(), "an X25519 HPKE public key is 32 bytes");
    assertEquals("td-a", r.getTdId());
    byte[] reportData = TdxQuote.parse(r.getQuote().toByteArray()).report().reportData();
    assertArrayEquals(
        ReportDataBinding.of(
            r.getIdentityPublicKey().toByteArray(), r.getSealingPublicKey().toByteArray(), nonce),
        reportData);
    assertArrayEquals(new byte[16], java.util.Arrays.copyOfRange(reportData, 48, 64));
    ReportResponse again =
        tdA.agent().report(ReportRequest.newBuilder().setNonce(ByteString.copyFrom(nonce)).build());
    assertEquals(r.getSealingPublicKey(), again.getSealingPublicKey(), "one sealing key per TD life");
    ReportResponse other =
        tdB.agent().report(ReportRequest.newBuilder().setNonce(ByteString.copyFrom(nonce)).build());
    assertFalse(r.getSealingPublicKey().equals(other.getSealingPublicKey()), "each TD makes its own");
  }

  @Test
  void everyInvokeReplyCarriesAReceiptThatVerifies() throws Exception {
    String event = "hello receipts";
    InvokeResponse ok = tdA.invoke(upper, event);
    assertEquals("HELLO RECEIPTS", ok.getPayload().toStringUtf8(), ok.toString());
    TdEvidence evidence = tdA.evidence(tdA.referenceJson());
    byte[] request = event.getBytes(StandardCharsets.UTF_8);
    byte[] response = ok.getPayload().toByteArray();

    ReceiptVerifier.Result result = verifier(tdA).verify(ok.getReceipt(), evidence, request, response);
    assertTrue(result.verified(), result.toString());
    for (Check c : Check.values()) {
      if (c != Check.PLAINTEXTS) {
        assertEquals(Outcome.PASS, result.line(c).orElseThrow().outcome(), result.toString());
      }
    }
    assertTrue(result.line(Check.PLAINTEXTS).isEmpty(), "no plaintext line for an unsealed call");
    assertTrue(
        result.line(Check.QUOTE).orElseThrow().message().contains("simulated TDX"), result.toString());
    Receipt.Claims claims = result.receipt().orElseThrow().claims();
    assertEquals(ok.getRequestId(), claims.requestId());
    assertEquals(upper, claims.imageId());
    assertEquals("td-a", claims.tdId());
    assertEquals(List.of(upper, lower), claims.images(), "the receipt names every co-resident image");
    assertEquals(3, claims.rtmr3LogLength(), "INIT and two AddManifest lines");
    assertTrue(claims.functionName() != null && claims.functionName().startsWith("image-"), claims.toString());
    assertEquals("$LATEST", claims.functionVersion());
    long now = Instant.now().getEpochSecond();
    assertTrue(Math.abs(now - claims.issuedAt()) < 120, "iat " + claims.issuedAt() + " is not now");

    // Evidence travels as JSON; what was parsed verifies the same.
    TdEvidence parsed = TdEvidence.parse(evidence.toJson());
    assertTrue(verifier(tdA).verify(ok.getReceipt(), parsed, request, response).verified());
    // Without the caller's own reference values, the evidence's are used, and the verdict says so.
    ReceiptVerifier.Result hostRefs =
        ReceiptVerifier.of(QuoteVerifier.trusting(pki.rootCertificate(), Clock.systemUTC()), collateral)
            .verify(ok.getReceipt(), parsed, null, null);
    assertTrue(hostRefs.verified(), hostRefs.toString());
    assertTrue(hostRefs.line(Check.MEASUREMENTS).orElseThrow().message().contains("operator's claim"));
    assertEquals(Outcome.NOT_CHECKED, hostRefs.line(Check.RESPONSE_HASH).orElseThrow().outcome());

    // A failed invocation gets a receipt too: the error kind instead of a response hash.
    InvokeResponse failed = tdA.invoke(upper, "fail");
    assertEquals(FunctionError.Kind.HANDLED, failed.getError().getKind(), failed.toString());
    ReceiptVerifier.Result f =
        verifier(tdA).verify(failed.getReceipt(), evidence, "fail".getBytes(StandardCharsets.UTF_8), null);
    assertTrue(f.verified(), f.toString());
    assertEquals("HANDLED", f.receipt().orElseThrow().claims().error());
    assertNull(f.receipt().orElseThrow().claims().responseSha256());

    // By instance, with the host's Lambda name and version: both appear in the receipt.
    String instance =
        tdB.agent()
            .start(
                StartRequest.newBuilder()
                    .setImageId(upper)
                    .addEnv("AWS_LAMBDA_FUNCTION_NAME=orders")
                    .addEnv("AWS_LAMBDA_FUNCTION_VERSION=7")
                    .build())
            .getInstanceId();
    InvokeResponse byInstance =
        tdB.agent()
            .invoke(
                InvokeRequest.newBuilder()
                    .setInstanceId(instance)
                    .setPayload(ByteString.copyFromUtf8("b"))
                    .setRequestId("req-by-instance")
                    .build());
    ReceiptVerifier.Result b =
        verifier(tdB)
            .verify(
                byInstance.getReceipt(),
                tdB.evidence(Map.of()),
                "b".getBytes(StandardCharsets.UTF_8),
                byInstance.getPayload().toByteArray());
    assertTrue(b.verified(), b.toString());
    Receipt.Claims bc = b.receipt().orElseThrow().claims();
    assertEquals(List.of("req-by-instance", "orders", "7", List.of(upper)),
        List.of(bc.requestId(), bc.functionName(), bc.functionVersion(), bc.images()));

    writeExample(ok.getReceipt(), evidence, request, response);
  }

  @Test
  void alteredReceiptsAreRefusedNamingTheCheck() {
    String event = "tamper";
    InvokeResponse ok = tdA.invoke(upper, event);
    String receipt = ok.getReceipt();
    TdEvidence evidence = tdA.evidence(Map.of());
    byte[] request = event.getBytes(StandardCharsets.UTF_8);
    byte[] response = ok.getPayload().toByteArray();
    ReceiptVerifier v = verifier(tdA);
    assertTrue(v.verify(receipt, evidence, request, response).verified());

    // The signature: one bit of R flipped.
    String[] parts = receipt.split("\\.");
    byte[] sig = Base64.getUrlDecoder().decode(parts[2]);
    sig[10] ^= 1;
    assertRefused(
        v.verify(parts[0] + "." + parts[1] + "." + b64(sig), evidence, request, response),
        Check.SIGNATURE,
        "does not verify");

    // The response hash: claims another response; the signature no longer covers the payload, and
    // the response given does not hash to the claim.
    String otherHash = Receipt.sha256("SOMETHING ELSE".getBytes(StandardCharsets.UTF_8));
    String fakeResponse =
        withPayload(receipt, p -> p.replace(Receipt.sha256(response), otherHash));
    ReceiptVerifier.Result r = v.verify(fakeResponse, evidence, request, response);
    assertRefused(r, Check.SIGNATURE, "does not verify");
    assertRefused(r, Check.RESPONSE_HASH, "hashes to");
    // ...and the genuine receipt refuses a response that is not the one the TD sent.
    assertRefused(
        v.verify(receipt, evidence, request, "SOMETHING ELSE".getBytes(StandardCharsets.UTF_8)),
        Check.RESPONSE_HASH,
        "not the bytes the TD sent");

    // The image ID: claims the other image handled it.
    ReceiptVerifier.Result img =
        v.verify(
            withPayload(receipt, p -> p.replace("\"image_id\":\"" + upper, "\"image_id\":\"" + lookalike(upper))),
            evidence,
            request,
            response);
    assertRefused(img, Check.SIGNATURE, "does not verify");
    assertRefused(img, Check.IMAGES, "was not loaded");

    // RTMR3: a value the log does not replay to.
    String rtmr3 = Receipt.parse(receipt).claims().rtmr3();
    String otherRtmr3 = (rtmr3.charAt(0) == '0' ? "1" : "0") + rtmr3.substring(1);
    ReceiptVerifier.Result rt =
        v.verify(withPayload(receipt, p -> p.replace(rtmr3, otherRtmr3)), evidence, request, response);
    assertRefused(rt, Check.SIGNATURE, "does not verify");
    assertRefused(rt, Check.RECEIPT_RTMR3, "is not the replay");

    // Not a JWS at all.
    assertRefused(v.verify("not-a-receipt", evidence, request, response), Check.RECEIPT_FORMAT, "compact JWS");
  }

  @Test
  void aReceiptFromOneTdDoesNotVerifyAgainstAnotherTdsEvidence() {
    InvokeResponse fromB = tdB.invoke(upper, "which td");
    TdEvidence evidenceA = tdA.evidence(Map.of());
    ReceiptVerifier.Result r =
        verifier(tdA)
            .verify(fromB.getReceipt(), evidenceA, null, fromB.getPayload().toByteArray());
    assertRefused(r, Check.SIGNATURE, "comes from another TD");
    assertRefused(r, Check.TD_ID, "names TD td-b but the evidence is TD td-a");
    // Against its own TD's evidence, the same receipt is good.
    assertTrue(
        verifier(tdB).verify(fromB.getReceipt(), tdB.evidence(Map.of()), null, null).verified());
  }

  @Test
  void evidenceWhoseKeysTheQuoteDoesNotBindIsRefused() {
    InvokeResponse ok = tdA.invoke(upper, "keys");
    TdEvidence real = tdA.evidence(Map.of());
    TdEvidence b = tdB.evidence(Map.of());
    // td-a's quote and log with td-b's sealing key: a host swapping in a key it controls.
    TdEvidence swapped =
        new TdEvidence(
            real.tdId(),
            real.backend(),
            real.nonce(),
            real.quote(),
            real.rtmr3Log(),
            real.identityPublicKey(),
            b.sealingPublicKey(),
            Map.of());
    assertRefused(verifier(tdA).verify(ok.getReceipt(), swapped, null, null), Check.KEY_BINDING, "REPORTDATA");
    // The same quote with a log naming an image that was never loaded.
    List<String> log = new ArrayList<>(real.rtmr3Log());
    String line = log.get(1);
    log.set(1, line.substring(0, line.length() - 1) + (line.endsWith("0") ? "1" : "0"));
    TdEvidence forged =
        new TdEvidence(
            real.tdId(), real.backend(), real.nonce(), real.quote(), log,
            real.identityPublicKey(), real.sealingPublicKey(), Map.of());
    assertRefused(verifier(tdA).verify(ok.getReceipt(), forged, null, null), Check.RTMR3_LOG, "quote has");
  }

  private static InvokeResponse invokeSealed(Td td, String imageId, byte[] sealedRequest) {
    return td.agent()
        .invoke(
            InvokeRequest.newBuilder()
                .setImageId(imageId)
                .setSealedRequest(ByteString.copyFrom(sealedRequest))
                .setTimeoutMs(20_000)
                .build());
  }

  @Test
  void aSealedInvocationOpensOnlyInsideTheTdAndItsReceiptCoversTheCiphertexts() throws Exception {
    TdEvidence evidence = tdA.evidence(Map.of());
    byte[] event = "marker-7f3a secret event".getBytes(StandardCharsets.UTF_8);
    SealedMessages.ClientRequest sealed =
        SealedMessages.seal(evidence.sealingPublicKey(), upper, evidence.tdId(), event);
    byte[] request = sealed.encapsulated();
    assertFalse(
        new String(request, StandardCharsets.ISO_8859_1).contains("marker-7f3a"),
        "the event is visible in the sealed request");

    InvokeResponse r = invokeSealed(tdA, upper, request);
    assertTrue(r.getPayload().isEmpty(), "a sealed call's response must not come back in the clear");
    byte[] sealedResponse = r.getSealedResponse().toByteArray();
    assertFalse(
        new String(sealedResponse, StandardCharsets.ISO_8859_1).contains("MARKER-7F3A"),
        "the response is visible in the sealed response");
    byte[] response = sealed.openResponse(sealedResponse);
    assertEquals("MARKER-7F3A SECRET EVENT", new String(response, StandardCharsets.UTF_8));

    ReceiptVerifier.Result v = verifier(tdA).verify(r.getReceipt(), evidence, request, sealedResponse);
    assertTrue(v.verified(), v.toString());
    assertEquals(Outcome.NOT_CHECKED, v.line(Check.PLAINTEXTS).orElseThrow().outcome());
    Receipt.Claims c = v.receipt().orElseThrow().claims();
    assertTrue(c.sealed());
    assertEquals(sealed.plaintextMac(event), c.eventPlaintextMac(), "the TD saw another event");
    assertEquals(sealed.plaintextMac(response), c.responsePlaintextMac(), "the TD sent another response");
    assertFalse(r.getReceipt().contains(Receipt.sha256(event)), "the receipt exposes the plaintext's hash");

    // The function's error is sealed too; the host learns only its kind.
    SealedMessages.ClientRequest failing =
        SealedMessages.seal(evidence.sealingPublicKey(), upper, evidence.tdId(), "fail".getBytes(StandardCharsets.UTF_8));
    InvokeResponse f = invokeSealed(tdA, upper, failing.encapsulated());
    assertEquals(FunctionError.Kind.HANDLED, f.getError().getKind(), f.toString());
    assertFalse(f.getError().getMessage().contains("cannot handle"), f.getError().getMessage());
    String error = new String(failing.openResponse(f.getSealedResponse().toByteArray()), StandardCharsets.UTF_8);
    assertTrue(error.contains("cannot handle fail") && error.contains("Handled.BadInput"), error);
    ReceiptVerifier.Result fv =
        verifier(tdA)
            .verify(f.getReceipt(), evidence, failing.encapsulated(), f.getSealedResponse().toByteArray());
    assertTrue(fv.verified(), fv.toString());
    assertEquals("HANDLED", fv.receipt().orElseThrow().claims().error());
  }

  @Test
  void aSealedRequestForAnotherFunctionOrTdIsRefusedByTheAgent() {
    TdEvidence a = tdA.evidence(Map.of());
    TdEvidence b = tdB.evidence(Map.of());
    byte[] event = "x".getBytes(StandardCharsets.UTF_8);

    // Sealed for the lower function, sent to the upper one (same TD, same key).
    io.grpc.StatusRuntimeException otherFunction =
        org.junit.jupiter.api.Assertions.assertThrows(
            io.grpc.StatusRuntimeException.class,
            () -> invokeSealed(tdA, upper, SealedMessages.seal(a.sealingPublicKey(), lower, "td-a", event).encapsulated()));
    assertEquals(io.grpc.Status.Code.PERMISSION_DENIED, otherFunction.getStatus().getCode());
    assertTrue(otherFunction.getStatus().getDescription().contains("does not open for image " + upper), otherFunction.getMessage());

    // Sealed for td-b (its key and ID), relayed to td-a.
    io.grpc.StatusRuntimeException otherTd =
        org.junit.jupiter.api.Assertions.assertThrows(
            io.grpc.StatusRuntimeException.class,
            () -> invokeSealed(tdA, upper, SealedMessages.seal(b.sealingPublicKey(), upper, "td-b", event).encapsulated()));
    assertEquals(io.grpc.Status.Code.PERMISSION_DENIED, otherTd.getStatus().getCode());
    assertTrue(otherTd.getStatus().getDescription().contains("in TD td-a"), otherTd.getMessage());

    // td-a's key but naming td-b: the info binding refuses it even where the key fits.
    io.grpc.StatusRuntimeException misnamed =
        org.junit.jupiter.api.Assertions.assertThrows(
            io.grpc.StatusRuntimeException.class,
            () -> invokeSealed(tdA, upper, SealedMessages.seal(a.sealingPublicKey(), upper, "td-b", event).encapsulated()));
    assertEquals(io.grpc.Status.Code.PERMISSION_DENIED, misnamed.getStatus().getCode());

    // A flipped ciphertext bit.
    byte[] altered = SealedMessages.seal(a.sealingPublicKey(), upper, "td-a", event).encapsulated();
    altered[altered.length - 1] ^= 1;
    assertEquals(
        io.grpc.Status.Code.PERMISSION_DENIED,
        org.junit.jupiter.api.Assertions.assertThrows(
                io.grpc.StatusRuntimeException.class, () -> invokeSealed(tdA, upper, altered))
            .getStatus()
            .getCode());

    // Both a clear payload and a sealed one.
    io.grpc.StatusRuntimeException both =
        org.junit.jupiter.api.Assertions.assertThrows(
            io.grpc.StatusRuntimeException.class,
            () ->
                tdA.agent()
                    .invoke(
                        InvokeRequest.newBuilder()
                            .setImageId(upper)
                            .setPayload(ByteString.copyFromUtf8("clear"))
                            .setSealedRequest(
                                ByteString.copyFrom(
                                    SealedMessages.seal(a.sealingPublicKey(), upper, "td-a", event).encapsulated()))
                            .build()));
    assertEquals(io.grpc.Status.Code.INVALID_ARGUMENT, both.getStatus().getCode());
    assertTrue(both.getStatus().getDescription().contains("not both"), both.getMessage());
  }

  /** An image ID differing from {@code id} in its last digit. */
  private static String lookalike(String id) {
    return id.substring(0, id.length() - 1) + (id.endsWith("0") ? "1" : "0");
  }

  /** Writes the example docs/receipts.md shows, when asked to (see the class comment). */
  private static void writeExample(String receipt, TdEvidence evidence, byte[] request, byte[] response)
      throws Exception {
    String dir = System.getProperty("confaas.receipts.example");
    if (dir == null || dir.isEmpty()) {
      return;
    }
    Path out = Files.createDirectories(Path.of(dir));
    Files.writeString(out.resolve("receipt.jws"), receipt + "\n", StandardCharsets.US_ASCII);
    Files.write(out.resolve("evidence.json"), evidence.toJson());
    Files.write(out.resolve("request.bin"), request);
    Files.write(out.resolve("response.bin"), response);
    collateral.writeTo(out.resolve("collateral"));
    Files.writeString(
        out.resolve("dev-root.pem"),
        "-----BEGIN CERTIFICATE-----\n"
            + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                .encodeToString(pki.rootCertificate().getEncoded())
            + "\n-----END CERTIFICATE-----\n",
        StandardCharsets.US_ASCII);
  }
}
