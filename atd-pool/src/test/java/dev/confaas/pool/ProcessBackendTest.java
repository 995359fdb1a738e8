package dev.confaas.pool;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.confaas.agent.AgentCallException;
import dev.confaas.agent.ReportDataBinding;
import dev.confaas.agent.v1.AddManifestRequest;
import dev.confaas.agent.v1.AddManifestResponse;
import dev.confaas.agent.v1.FunctionError;
import dev.confaas.agent.v1.InvokeRequest;
import dev.confaas.agent.v1.InvokeResponse;
import dev.confaas.agent.v1.ReportRequest;
import dev.confaas.agent.v1.ReportResponse;
import dev.confaas.attestation.QuoteVerification;
import dev.confaas.attestation.QuoteVerifier;
import dev.confaas.attestation.RtmrLog;
import dev.confaas.attestation.SimulatedPki;
import dev.confaas.image.AliasRef;
import dev.confaas.image.Digest;
import dev.confaas.image.Manifest;
import dev.confaas.image.NameSvn;
import dev.confaas.image.SigningKeys;
import io.grpc.Status;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The "done when" on the {@code process} backend: real agent JVMs, simulated quotes
 * verified through the DCAP path, a vendor layer and a signed function image naming it by alias,
 * invocations through the pinned mutual-TLS channel, and every refusal the agent owes.
 */
class ProcessBackendTest {
  @TempDir static Path tmp;
  private static ProcessTdLauncher launcher;
  private static AttestedTd td;
  private static SigningKeys vendor;
  private static SigningKeys author;
  private static Path rootfsTar;
  private static Digest rootfs;
  private static Manifest vendorManifest;
  private static AliasRef shellRuntime;

  @BeforeAll
  static void boot() throws Exception {
    launcher = new ProcessTdLauncher(ProcessTdLauncher.Config.defaults(tmp.resolve("pool")));
    td = launcher.attestor().attest(launcher.launch("td-main"));
    Clock clock = Clock.systemUTC();
    vendor = SigningKeys.generate("vendor", clock);
    author = SigningKeys.generate("author", clock);
    rootfsTar = TestImages.tar(TestImages.hostRootfs(tmp.resolve("rootfs")));
    rootfs = TestImages.digest(rootfsTar);
    NameSvn name = NameSvn.parse("ShellRuntime:1");
    vendorManifest =
        Manifest.builder().addLayer(rootfs).contentAlias(rootfs, name).maxInstances(0).build();
    shellRuntime = AliasRef.of(vendor.signerId(), name);
  }

  @AfterAll
  static void shutDown() {
    if (td != null) {
      td.close();
      assertFalse(td.isAlive(), "the TD's agent outlived close()");
    }
    launcher.close();
  }

  /** Loads the vendor layer (once) and a function on it; returns the function's image ID. */
  private static synchronized String loadFunction(AttestedTd t, String handlerBody)
      throws Exception {
    AddManifestResponse v = TestImages.addManifest(t.agent(), vendor, vendorManifest);
    if (v.getMissingLayersList().contains(rootfs.toString())) {
      TestImages.addBlob(t.agent(), rootfsTar);
    }
    Path fnTar =
        TestImages.tar(TestImages.functionLayer(Files.createTempDirectory(tmp, "fn"), handlerBody));
    Digest fn = TestImages.digest(fnTar);
    Manifest m =
        Manifest.builder()
            .addLayer(shellRuntime)
            .addLayer(fn)
            .entrypoint("/bin/sh", "/app/bootstrap")
            .workingDir("/app")
            .maxInstances(2)
            .build();
    AddManifestResponse r = TestImages.addManifest(t.agent(), author, m);
    assertEquals(
        List.of(fn.toString()), r.getMissingLayersList(), "the vendor layer should be present");
    TestImages.addBlob(t.agent(), fnTar);
    return r.getImageId();
  }

  private static InvokeResponse invoke(AttestedTd t, String imageId, String event, int timeoutMs) {
    return TestImages.await(
        t.agent()
            .invoke(
                InvokeRequest.newBuilder()
                    .setImageId(imageId)
                    .setPayload(ByteString.copyFromUtf8(event))
                    .setTimeoutMs(timeoutMs)
                    .build(),
                Duration.ofMillis(timeoutMs).plusSeconds(30)));
  }

  @Test
  void aBootedTdIsAttestedWithAnEmptyLog() {
    QuoteVerification v = td.verification();
    assertTrue(v.verified(), v.message());
    assertTrue(v.simulated(), "a process-backend quote must be marked simulated");
    assertArrayEquals(launcher.expectedMrTd(), v.measurements().orElseThrow().mrTd());
    assertEquals(List.of(), td.rtmr3Log());
  }

  @Test
  void reattestationVouchesForTheGrownLogOverThePinnedChannel() throws Exception {
    String image = loadFunction(td, "  OUT=reattested");
    AttestedTd fresh = launcher.attestor().reattest(td);
    assertEquals(td.id(), fresh.id());
    assertTrue(fresh.agent() == td.agent(), "re-attestation must keep the pinned channel's client");
    assertFalse(fresh.attestedAt().isBefore(td.attestedAt()), "attestedAt went backwards");
    List<String> log = fresh.rtmr3Log();
    assertEquals(RtmrLog.INIT_LINE, log.get(0), "log: " + log);
    assertTrue(
        log.contains(RtmrLog.ADD_MANIFEST_PREFIX + image), "loaded image not in the log: " + log);
    assertArrayEquals(
        RtmrLog.of(log).value(),
        fresh.verification().measurements().orElseThrow().rtmr(3),
        "the returned log is not the one the verified quote's RTMR3 replays");
  }

  @Test
  void reattestationRefusesATdItDidNotAttest() throws Exception {
    QuoteTdAttestor other =
        new QuoteTdAttestor(
            QuoteVerifier.trusting(
                SimulatedPki.load(tmp.resolve("pool/simulated-pki")).rootCertificate(),
                Clock.systemUTC()),
            launcher::collateral,
            launcher.referenceValues(),
            launcher.hostIdentity(),
            Clock.systemUTC());
    AttestedTd unpinned =
        new AttestedTd() {
          public String id() { return td.id(); }
          public String backend() { return td.backend(); }
          public dev.confaas.agent.AgentClient agent() { return td.agent(); }
          public java.time.Instant attestedAt() { return td.attestedAt(); }
          public QuoteVerification verification() { return td.verification(); }
          public List<String> rtmr3Log() { return td.rtmr3Log(); }
          public boolean isAlive() { return td.isAlive(); }
          public void close() {}
        };
    TdAttestationException e =
        assertThrows(TdAttestationException.class, () -> other.reattest(unpinned));
    assertTrue(e.getMessage().contains("not attested by this attestor"), e.getMessage());
  }

  @Test
  void aFunctionOnTheVendorLayerAnswersAndRtmr3ReplaysItsLog() throws Exception {
    String image = loadFunction(td, "  OUT=$(printf '%s' \"$EVENT\" | tr 'a-z' 'A-Z')");
    dev.confaas.agent.v1.ImageInfo info =
        TestImages.await(td.agent().inspect(dev.confaas.agent.v1.InspectRequest.getDefaultInstance()))
            .getImagesList()
            .stream()
            .filter(i -> i.getImageId().equals(image))
            .findFirst()
            .orElseThrow();
    assertEquals(
        rootfs.toString(),
        info.getLayers(0),
        "the vendor alias should resolve to the rootfs layer");
    assertEquals(List.of(), info.getMissingLayersList());
    InvokeResponse r = invoke(td, image, "hello from the host", 10_000);
    assertEquals("HELLO FROM THE HOST", r.getPayload().toStringUtf8(), r.toString());

    byte[] nonce = new byte[32];
    new SecureRandom().nextBytes(nonce);
    ReportResponse report =
        TestImages.await(
            td.agent().report(ReportRequest.newBuilder().setNonce(ByteString.copyFrom(nonce)).build()));
    SimulatedPki pki = SimulatedPki.load(tmp.resolve("pool/simulated-pki"));
    QuoteVerification v =
        QuoteVerifier.trusting(pki.rootCertificate(), Clock.systemUTC())
            .verify(report.getQuote().toByteArray(), launcher.collateral());
    assertTrue(v.verified(), v.message());
    assertEquals(32, report.getSealingPublicKey().size(), "Report carries the X25519 sealing key");
    assertEquals(td.id(), report.getTdId(), "the agent names itself as launched");
    assertArrayEquals(
        ReportDataBinding.of(
            report.getIdentityPublicKey().toByteArray(),
            report.getSealingPublicKey().toByteArray(),
            nonce),
        v.measurements().orElseThrow().reportData());
    assertArrayEquals(
        td.sealingPublicKey(),
        report.getSealingPublicKey().toByteArray(),
        "the pool records the attested sealing key");
    List<String> lines = report.getRtmrLogsOrThrow(3).getEntriesList();
    RtmrLog log = RtmrLog.of(lines);
    assertArrayEquals(
        log.value(), v.measurements().orElseThrow().rtmr(3), "RTMR3 is not the replay of " + lines);
    assertEquals(RtmrLog.INIT_LINE, lines.get(0));
    String vendorId = vendor.signer().imageId(vendorManifest).toString();
    assertTrue(
        lines.contains(RtmrLog.ADD_MANIFEST_PREFIX + vendorId),
        "vendor image not measured: " + lines);
    assertTrue(
        lines.contains(RtmrLog.ADD_MANIFEST_PREFIX + image),
        "function image not measured: " + lines);
  }

  @Test
  void hangsCrashesAndEscapeAttemptsDoNotTakeTheAgentDown() throws Exception {
    String image =
        loadFunction(
            td,
            String.join(
                "\n",
                "  case \"$EVENT\" in",
                "    hang) sleep 600 ;;",
                "    crash) exit 3 ;;",
                "    escape) for f in /etc/escaped /../escaped /proc/1/root/escaped; do",
                "              if echo x > $f 2>/dev/null; then OUT=\"$OUT wrote:$f\"; fi; done",
                "            OUT=\"done$OUT\" ;;",
                "    *) OUT=\"ok $EVENT\" ;;",
                "  esac"));
    FunctionError hang = invoke(td, image, "hang", 1_000).getError();
    assertEquals(FunctionError.Kind.TIMED_OUT, hang.getKind(), hang.toString());
    assertEquals("ok 1", invoke(td, image, "1", 10_000).getPayload().toStringUtf8());
    FunctionError crash = invoke(td, image, "crash", 10_000).getError();
    assertEquals(FunctionError.Kind.CRASHED, crash.getKind(), crash.toString());
    assertEquals(3, crash.getExitStatus());
    assertEquals("ok 2", invoke(td, image, "2", 10_000).getPayload().toStringUtf8());
    assertEquals("done", invoke(td, image, "escape", 10_000).getPayload().toStringUtf8());
    assertFalse(Files.exists(Path.of("/escaped")), "a function wrote to the host's root");
    assertEquals("ok 3", invoke(td, image, "3", 10_000).getPayload().toStringUtf8());
    assertTrue(td.isAlive());
  }

  @Test
  void badSignaturesUnknownAliasesAndUnreferencedBlobsAreRefused() throws Exception {
    Manifest m = Manifest.builder().addLayer(rootfs).entrypoint("/bin/sh").build();
    AddManifestRequest good = TestImages.request(author, m);
    byte[] sig = good.getSignature().toByteArray();
    sig[sig.length - 1] ^= 1;
    AgentCallException bad =
        assertThrows(
            AgentCallException.class,
            () ->
                TestImages.await(
                    td.agent()
                        .addManifest(good.toBuilder().setSignature(ByteString.copyFrom(sig)).build())));
    assertEquals(Status.Code.PERMISSION_DENIED, bad.code());
    assertTrue(
        bad.description().contains("signature"), bad.description());

    AliasRef unknown = AliasRef.of(author.signerId(), NameSvn.parse("NoSuchRuntime:7"));
    AgentCallException unresolved =
        assertThrows(
            AgentCallException.class,
            () ->
                TestImages.addManifest(
                    td.agent(), author, Manifest.builder().addLayer(unknown).build()));
    assertEquals(Status.Code.FAILED_PRECONDITION, unresolved.code());
    assertTrue(
        unresolved.description().contains(unknown.toString()),
        unresolved.description());

    byte[] stray = "a blob no manifest names".getBytes();
    AgentCallException notReferenced =
        assertThrows(
            AgentCallException.class,
            () -> TestImages.addBlob(td.agent(), Digest.sha384(stray).toString(), stray));
    assertEquals(Status.Code.FAILED_PRECONDITION, notReferenced.code());
    assertTrue(
        notReferenced
            .description()
            .contains("no manifest loaded into this TD references"),
        notReferenced.description());
  }

  @Test
  void policyConflictsAndManifestsAfterFinalizeAreRefused() throws Exception {
    try (AttestedTd other = launcher.attestor().attest(launcher.launch("td-policy"))) {
      // Each image accepts only its own signer's images and rejects everything else.
      Manifest a =
          Manifest.builder()
              .addLayer(rootfs)
              .accept("sha384/" + author.signerId().hex() + "/*")
              .rejectUnaccepted(true)
              .build();
      Manifest b =
          Manifest.builder()
              .addLayer(rootfs)
              .accept("sha384/" + vendor.signerId().hex() + "/*")
              .rejectUnaccepted(true)
              .build();
      TestImages.addManifest(other.agent(), author, a);
      AgentCallException conflict =
          assertThrows(
              AgentCallException.class,
              () -> TestImages.addManifest(other.agent(), vendor, b));
      assertEquals(Status.Code.FAILED_PRECONDITION, conflict.code());
      assertTrue(
          conflict.description().contains("may not join this TD"),
          conflict.description());

      TestImages.await(other.agent().finalizeTd());
      Manifest c = Manifest.builder().addLayer(rootfs).maxInstances(3).build();
      AgentCallException late =
          assertThrows(
              AgentCallException.class,
              () -> TestImages.addManifest(other.agent(), author, c));
      assertEquals(Status.Code.FAILED_PRECONDITION, late.code());
      assertTrue(
          late.description().contains("finalized"),
          late.description());
      byte[] nonce = new byte[16];
      List<String> log =
          TestImages.await(
                  other.agent()
                      .report(ReportRequest.newBuilder().setNonce(ByteString.copyFrom(nonce)).build()))
              .getRtmrLogsOrThrow(3)
              .getEntriesList();
      assertEquals(RtmrLog.FINALIZE_LINE, log.get(log.size() - 1), log.toString());
    }
  }
}
