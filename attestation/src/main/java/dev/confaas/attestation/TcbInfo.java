package dev.confaas.attestation;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * TDX TCB Info (Intel PCS v4 {@code /tdx/certification/v4/tcb}, TCB Info version 3): the TCB levels
 * of one platform family (FMSPC) and the identities of the TDX modules.
 */
record TcbInfo(
    String id,
    int version,
    Instant issueDate,
    Instant nextUpdate,
    byte[] fmspc,
    byte[] pceId,
    int tcbEvaluationDataNumber,
    ModuleIdentity tdxModule,
    List<ModuleIdentity> tdxModuleIdentities,
    List<Level> tcbLevels) {

  /** A TDX module identity; {@code tcbLevels} is empty for the legacy {@code tdxModule} object. */
  record ModuleIdentity(
      String id,
      byte[] mrSigner,
      byte[] attributes,
      byte[] attributesMask,
      List<ModuleLevel> tcbLevels) {}

  record ModuleLevel(int isvSvn, String tcbDate, TcbStatus status, List<String> advisoryIds) {}

  record Level(
      int[] sgxComponents,
      int pceSvn,
      int[] tdxComponents,
      String tcbDate,
      TcbStatus status,
      List<String> advisoryIds) {}

  static TcbInfo of(JsonNode n) {
    String w = "TCB Info";
    List<ModuleIdentity> identities = new ArrayList<>();
    for (JsonNode m : n.path("tdxModuleIdentities")) {
      List<ModuleLevel> levels = new ArrayList<>();
      for (JsonNode l : m.path("tcbLevels")) {
        levels.add(
            new ModuleLevel(
                CollateralFields.integer(l.path("tcb"), "isvsvn", w + " module tcbLevel"),
                l.path("tcbDate").asText(),
                TcbStatus.fromPcs(CollateralFields.text(l, "tcbStatus", w + " module tcbLevel")),
                CollateralFields.strings(l.path("advisoryIDs"))));
      }
      identities.add(module(m, CollateralFields.text(m, "id", w + " tdxModuleIdentities"), levels));
    }
    List<Level> levels = new ArrayList<>();
    for (JsonNode l : n.path("tcbLevels")) {
      JsonNode tcb = l.path("tcb");
      levels.add(
          new Level(
              CollateralFields.svns(tcb.path("sgxtcbcomponents"), w + " sgxtcbcomponents"),
              CollateralFields.integer(tcb, "pcesvn", w + " tcbLevel"),
              CollateralFields.svns(tcb.path("tdxtcbcomponents"), w + " tdxtcbcomponents"),
              l.path("tcbDate").asText(),
              TcbStatus.fromPcs(CollateralFields.text(l, "tcbStatus", w + " tcbLevel")),
              CollateralFields.strings(l.path("advisoryIDs"))));
    }
    JsonNode tdxModule = n.get("tdxModule");
    return new TcbInfo(
        CollateralFields.text(n, "id", w),
        CollateralFields.integer(n, "version", w),
        CollateralFields.instant(n, "issueDate", w),
        CollateralFields.instant(n, "nextUpdate", w),
        CollateralHex.parse(CollateralFields.text(n, "fmspc", w), w + " fmspc"),
        CollateralHex.parse(CollateralFields.text(n, "pceId", w), w + " pceId"),
        n.path("tcbEvaluationDataNumber").asInt(-1),
        tdxModule == null ? null : module(tdxModule, "TDX_00", List.of()),
        identities,
        levels);
  }

  private static ModuleIdentity module(JsonNode m, String id, List<ModuleLevel> levels) {
    String w = "TCB Info TDX module " + id;
    return new ModuleIdentity(
        id,
        CollateralHex.parse(CollateralFields.text(m, "mrsigner", w), w + " mrsigner"),
        CollateralHex.parse(CollateralFields.text(m, "attributes", w), w + " attributes"),
        CollateralHex.parse(CollateralFields.text(m, "attributesMask", w), w + " attributesMask"),
        levels);
  }
}
