package dev.confaas.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;

/** The per-function store of recent lines: bounded, filtered, followed, and gone with the function. */
class FunctionLogsTest {
  static final Clock CLOCK = Clock.fixed(Instant.parse("2026-11-22T07:00:00Z"), ZoneOffset.UTC);
  final Set<String> deployed = ConcurrentHashMap.newKeySet();

  FunctionLogs logs(int lines, long chars) {
    return new FunctionLogs(CLOCK, deployed::contains, lines, chars);
  }

  static boolean add(FunctionLogs l, String fn, String request, String text) {
    return l.append(fn, "1", request, "i-1", "td-1", 2, text.getBytes(StandardCharsets.UTF_8));
  }

  static List<String> texts(List<FunctionLogs.Line> lines) {
    return lines.stream().map(FunctionLogs.Line::text).toList();
  }

  @Test
  void keepsTheLastLinesOfEachFunction() {
    deployed.addAll(Set.of("a", "b"));
    FunctionLogs l = logs(3, 1_000_000);
    for (int i = 1; i <= 5; i++) {
      add(l, "a", "r" + i, "a" + i);
    }
    add(l, "b", "r", "b1");
    assertEquals(List.of("a3", "a4", "a5"), texts(l.recent("a", FunctionLogs.Filter.ALL)));
    assertEquals(List.of("b1"), texts(l.recent("b", FunctionLogs.Filter.ALL)),
        "one function's output never pushes out another's");
  }

  @Test
  void longLinesAreBoundedByCharactersToo() {
    deployed.add("a");
    FunctionLogs l = logs(1000, 10);
    add(l, "a", "r", "12345");
    add(l, "a", "r", "67890");
    add(l, "a", "r", "x");
    assertEquals(List.of("67890", "x"), texts(l.recent("a", FunctionLogs.Filter.ALL)));
  }

  @Test
  void linesOfAFunctionThatIsNotDeployedAreNotKept() {
    FunctionLogs l = logs(10, 1000);
    assertFalse(add(l, "ghost", "r", "boo"));
    assertEquals(0, l.functions());
  }

  @Test
  void deletingAFunctionForgetsItsLinesAndEndsItsFollowers() {
    deployed.add("a");
    FunctionLogs l = logs(10, 1000);
    add(l, "a", "r1", "before");
    List<String> ended = new ArrayList<>();
    List<String> seen = new ArrayList<>();
    FunctionLogs.Followed f = l.follow("a", FunctionLogs.Filter.ALL, new FunctionLogs.Follower() {
      @Override
      public void line(FunctionLogs.Line line) {
        seen.add(line.text());
      }

      @Override
      public void ended(String why) {
        ended.add(why);
      }
    });
    assertEquals(List.of("before"), texts(f.backlog()));
    add(l, "a", "r2", "after");
    assertEquals(List.of("after"), seen, "new lines go to the follower, not twice");

    deployed.remove("a");
    l.remove("a");
    assertEquals(0, l.functions());
    assertEquals(List.of(), l.recent("a", FunctionLogs.Filter.ALL));
    assertEquals(1, ended.size());
    assertTrue(ended.get(0).contains("deleted"), ended.get(0));
    assertFalse(add(l, "a", "r3", "late line of a draining instance"),
        "a deleted function's store is not re-created by a late line");
  }

  @Test
  void filtersBySinceAndRequest() {
    deployed.add("a");
    FunctionLogs l = logs(10, 1000);
    add(l, "a", "r1", "one");
    add(l, "a", "r2", "two");
    add(l, "a", "", "init");
    assertEquals(List.of("two"), texts(l.recent("a", new FunctionLogs.Filter(null, "r2"))));
    assertEquals(List.of("init"), texts(l.recent("a", new FunctionLogs.Filter(null, ""))));
    assertEquals(3, l.recent("a", new FunctionLogs.Filter(CLOCK.instant(), null)).size(),
        "since is inclusive");
    assertEquals(0, l.recent("a", new FunctionLogs.Filter(CLOCK.instant().plusMillis(1), null)).size());
    FunctionLogs.Line line = l.recent("a", new FunctionLogs.Filter(null, "r1")).get(0);
    assertEquals("2026-11-22T07:00:00Z a:1 r1 i-1@td-1 stderr: one", line.toText());
    assertEquals("stderr", line.toJson().getString("stream"));
    assertEquals("td-1", line.toJson().getString("td"));
  }
}
