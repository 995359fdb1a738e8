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
              CollateralFields.integer(l.path("tcb"), "isvsvn", w + " tcbLevel"),
              l.path("tcbDate").asText(),
              TcbStatus.fromPcs(CollateralFields.text(l, "tcbStatus", w + " tcbLevel")),
              CollateralFields.strings(l.path("advisoryIDs"))));
    }
    return new QeIdentity(
        CollateralFields.text(n, "id", w),
        CollateralFields.integer(n, "version", w),
        CollateralFields.instant(n, "issueDate", w),
        CollateralFields.instant(n, "nextUpdate", w),
        CollateralHex.parse(CollateralFields.text(n, "miscselect", w), w + " miscselect"),
        CollateralHex.parse(CollateralFields.text(n, "miscselectMask", w), w + " miscselectMask"),
        CollateralHex.parse(CollateralFields.text(n, "attributes", w), w + " attributes"),
        CollateralHex.parse(CollateralFields.text(n, "attributesMask", w), w + " attributesMask"),
        CollateralHex.parse(CollateralFields.text(n, "mrsigner", w), w + " mrsigner"),
        CollateralFields.integer(n, "isvprodid", w),
        levels);
  }
}
