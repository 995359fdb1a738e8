package dev.confaas.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The search {@link SealedPlaintextOffTheHostTest} relies on finds a marker however it is held. */
class LeakMarkersTest {
  private static final byte[] SEED = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  private static final String MARKER = LeakMarkers.eventText("sealed", SEED);
  private static final LeakMarkers.Search SEARCH = new LeakMarkers.Search(LeakMarkers.forms(MARKER));

  private static byte[] around(byte[] middle, int before) {
    byte[] out = new byte[before + middle.length + 7];
    java.util.Arrays.fill(out, (byte) 'x');
    System.arraycopy(middle, 0, out, before, middle.length);
    return out;
  }

  @Test
  void theMarkerTextsAreWhatTheFunctionMakesOfThem() {
    assertEquals("cfmksealed\u00e9-0102030405060708090a0b0c0d0e0f10", MARKER);
    assertEquals("CFMKSEALED\u00e9-0102030405060708090A0B0C0D0E0F10", LeakMarkers.responseText("sealed", SEED));
  }

  @Test
  void eachEncodingIsFoundAndOnlyItsOwn() {
    assertEquals(Set.of("UTF-8"), SEARCH.in(around(MARKER.getBytes(StandardCharsets.UTF_8), 3)));
    assertEquals(Set.of("Latin-1"), SEARCH.in(around(MARKER.getBytes(StandardCharsets.ISO_8859_1), 3)));
    assertEquals(Set.of("UTF-16BE"), SEARCH.in(around(MARKER.getBytes(StandardCharsets.UTF_16BE), 4)));
    assertTrue(SEARCH.in(around(MARKER.getBytes(StandardCharsets.UTF_16LE), 4)).contains("UTF-16LE"));
    assertEquals(Set.of("JSON-escaped"),
        SEARCH.in(("{\"e\":\"" + MARKER.replace("\u00e9", "\\u00e9") + "\"}").getBytes(StandardCharsets.US_ASCII)));
    assertEquals(Set.of(), SEARCH.in(around(LeakMarkers.response("sealed", SEED), 3)), "the response is another marker");
  }

  @Test
  void base64IsFoundAtEveryAlignmentInsideALongerText() {
    byte[] marker = MARKER.getBytes(StandardCharsets.UTF_8);
    for (int before = 0; before < 6; before++) {
      byte[] encoded = Base64.getEncoder().encode(around(marker, before));
      Set<String> found = SEARCH.in(("{\"payload\":\"" + new String(encoded, StandardCharsets.US_ASCII) + "\"}")
          .getBytes(StandardCharsets.US_ASCII));
      assertTrue(found.contains("base64@" + (before % 3)), before + " bytes before: " + found);
    }
  }

  @Test
  void aMarkerAcrossTheFileReadsChunkBoundaryIsFound(@TempDir Path dir) throws Exception {
    byte[] marker = MARKER.getBytes(StandardCharsets.UTF_16BE);
    byte[] file = new byte[(8 << 20) + 1000];
    System.arraycopy(marker, 0, file, (8 << 20) - marker.length / 2, marker.length);
    // (Among zeros, UTF-16BE text also reads as UTF-16LE one byte later: either is a find.)
    assertTrue(SEARCH.in(Files.write(dir.resolve("dump"), file)).contains("UTF-16BE"));
  }
}
