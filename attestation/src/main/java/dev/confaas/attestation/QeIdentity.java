package dev.confaas.attestation;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** The TD Quoting Enclave identity (Intel PCS v4 {@code /tdx/certification/v4/qe/identity}, v2). */
record QeIdentity(
    String id,
    int version,
    Instant issueDate,
    Instant nextUpdate,
    byte[] miscSelect,
    byte[] miscSelectMask,
    byte[] attributes,
    byte[] attributesMask,
    byte[] mrSigner,
    int isvProdId,
    List<Level> tcbLevels) {

  record Level(int isvSvn, String tcbDate, TcbStatus status, List<String> advisoryIds) {}

  static QeIdentity of(JsonNode n) {
    String w = "QE Identity";
    List<Level> levels = new ArrayList<>();
    for (JsonNode l : n.path("tcbLevels")) {
      levels.add(
          new Level(
              Json.integer(l.path("tcb"), "isvsvn", w + " tcbLevel"),
              l.path("tcbDate").asText(),
              TcbStatus.fromPcs(Json.text(l, "tcbStatus", w + " tcbLevel")),
              Json.strings(l.path("advisoryIDs"))));
    }
    return new QeIdentity(
        Json.text(n, "id", w),
        Json.integer(n, "version", w),
        Json.instant(n, "issueDate", w),
        Json.instant(n, "nextUpdate", w),
        Hex.parse(Json.text(n, "miscselect", w), w + " miscselect"),
        Hex.parse(Json.text(n, "miscselectMask", w), w + " miscselectMask"),
        Hex.parse(Json.text(n, "attributes", w), w + " attributes"),
        Hex.parse(Json.text(n, "attributesMask", w), w + " attributesMask"),
        Hex.parse(Json.text(n, "mrsigner", w), w + " mrsigner"),
        Json.integer(n, "isvprodid", w),
        levels);
  }
}
