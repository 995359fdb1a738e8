package dev.confaas.reliability;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A program that opens many idle TCP connections to the gateway and holds them, as a client that
 * never sends a request does; run by {@link IdleConnections} in processes of its own, because one
 * process may hold only as many sockets as its open-file limit allows ({@code ulimit -n}, 20,000 on
 * the reference machine, and raising the hard limit needs {@code CAP_SYS_RESOURCE}).
 *
 * <pre>
 * java -XX:+MaxFDLimit -cp CLASSES dev.confaas.reliability.IdleConnectionHolder \
 *     HOST PORT SOURCE_ADDRESSES(comma-separated) PER_SOURCE FIRST_SOURCE_PORT
 * </pre>
 *
 * <p>Each connection is bound to one of the given loopback source addresses (so a per-address
 * limit of the gateway applies per address) and then left silent. Source ports are chosen here,
 * counting up from FIRST_SOURCE_PORT per address (a port in use is skipped): letting the kernel
 * pick one for an explicit bind searches the whole range each time, which took minutes for 25,000
 * connections from one address. Plain JDK, no dependencies: it runs from the module's class
 * directory. It speaks a line protocol on stdin/stdout:
 *
 * <ul>
 *   <li>at start: {@code limit SOFT HARD} (this process's open-file limit);
 *   <li>once every connect has finished: {@code opened CONNECTED FAILED MILLIS ERRORS}, ERRORS
 *       being {@code reason=count;...} or {@code -};
 *   <li>on {@code count}: {@code count OPEN CLOSED ANSWERED}: connections still open, closed by the
 *       server (FIN or reset), and those on which the server sent bytes;
 *   <li>on {@code quit} or end of input: closes everything and exits.
 * </ul>
 */
public final class IdleConnectionHolder {
  private static final int CONNECTS_IN_FLIGHT = 256;
  private static final long CONNECT_TIMEOUT_NANOS = 5_000_000_000L;

  private final List<SocketChannel> open = new ArrayList<>();
  private int closed;
  private final Set<SocketChannel> answered = new HashSet<>();

  private IdleConnectionHolder() {}

  public static void main(String[] args) throws IOException {
    if (args.length != 5) {
      System.err.println("usage: IdleConnectionHolder HOST PORT SOURCES PER_SOURCE FIRST_PORT");
      System.exit(2);
    }
    InetSocketAddress server = new InetSocketAddress(args[0], Integer.parseInt(args[1]));
    List<InetAddress> sources = new ArrayList<>();
    for (String s : args[2].split(",")) {
      sources.add(InetAddress.getByName(s.strip()));
    }
    int perSource = Integer.parseInt(args[3]);
    int firstPort = Integer.parseInt(args[4]);
    System.out.println("limit " + openFileLimit());
    System.out.flush();

    IdleConnectionHolder holder = new IdleConnectionHolder();
    holder.openAll(server, sources, perSource, firstPort);
    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line = in.readLine(); line != null; line = in.readLine()) {
      if (line.strip().equals("count")) {
        holder.count();
        System.out.println(
            "count " + holder.open.size() + " " + holder.closed + " " + holder.answered.size());
        System.out.flush();
      } else if (line.strip().equals("quit")) {
        break;
      }
    }
    for (SocketChannel ch : holder.open) {
      closeQuietly(ch);
    }
  }

  /** Connects {@code perSource} times from each source address, at most 256 connects at a time. */
  private void openAll(InetSocketAddress server, List<InetAddress> sources, int perSource,
      int firstPort) throws IOException {
    Map<InetAddress, Integer> nextPort = new HashMap<>();
    sources.forEach(a -> nextPort.put(a, firstPort));
    long start = System.nanoTime();
    Deque<InetAddress> todo = new ArrayDeque<>();
    for (int i = 0; i < perSource; i++) {
      todo.addAll(sources); // round robin over the addresses
    }
    Map<String, Integer> errors = new TreeMap<>();
    int failed = 0;
    int inFlight = 0;
    try (Selector selector = Selector.open()) {
      while (!todo.isEmpty() || inFlight > 0) {
        while (inFlight < CONNECTS_IN_FLIGHT && !todo.isEmpty()) {
          InetAddress source = todo.poll();
          SocketChannel ch = null;
          try {
            ch = SocketChannel.open();
            ch.configureBlocking(false);
            // Lets a port whose last connection is in TIME_WAIT (an earlier run) be bound again.
            ch.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            bind(ch, source, nextPort);
            if (ch.connect(server)) {
              open.add(ch);
            } else {
              long deadline = System.nanoTime() + CONNECT_TIMEOUT_NANOS;
              ch.register(selector, SelectionKey.OP_CONNECT, deadline);
              inFlight++;
            }
          } catch (IOException e) {
            failed++;
            errors.merge(reason(e), 1, Integer::sum);
            closeQuietly(ch);
          }
        }
        selector.select(100);
        Iterator<SelectionKey> it = selector.selectedKeys().iterator();
        while (it.hasNext()) {
          SelectionKey key = it.next();
          it.remove();
          SocketChannel ch = (SocketChannel) key.channel();
          key.cancel();
          inFlight--;
          try {
            if (ch.finishConnect()) {
              open.add(ch);
            } else {
              failed++;
              errors.merge("not connected", 1, Integer::sum);
              closeQuietly(ch);
            }
          } catch (IOException e) {
            failed++;
            errors.merge(reason(e), 1, Integer::sum);
            closeQuietly(ch);
          }
        }
        long now = System.nanoTime();
        for (SelectionKey key : selector.keys()) {
          if (key.isValid() && now - (Long) key.attachment() > 0) {
            key.cancel();
            inFlight--;
            failed++;
            errors.merge("connect timed out after 5 s", 1, Integer::sum);
            closeQuietly((SocketChannel) key.channel());
          }
        }
      }
      selector.selectNow(); // lets the cancelled keys go, so the channels stay usable
    }
    StringBuilder e = new StringBuilder();
    errors.forEach((k, v) -> e.append(e.length() == 0 ? "" : ";").append(k.replace(' ', '_'))
        .append('=').append(v));
    System.out.println("opened " + open.size() + " " + failed + " "
        + (System.nanoTime() - start) / 1_000_000 + " " + (e.length() == 0 ? "-" : e));
    System.out.flush();
  }

  /** Reads (without blocking) from every connection still open; end of stream or reset = closed. */
  private void count() {
    ByteBuffer buf = ByteBuffer.allocate(4096);
    Iterator<SocketChannel> it = open.iterator();
    while (it.hasNext()) {
      SocketChannel ch = it.next();
      try {
        int n;
        boolean sent = false;
        while ((n = ch.read(buf.clear())) > 0) {
          sent = true;
        }
        if (sent) {
          answered.add(ch);
        }
        if (n < 0) {
          closed++;
          closeQuietly(ch);
          it.remove();
        }
      } catch (IOException e) {
        closed++;
        closeQuietly(ch);
        it.remove();
      }
    }
  }

  /** Binds to {@code source} on its next free port (counting up; ports in use are skipped). */
  private static void bind(SocketChannel ch, InetAddress source, Map<InetAddress, Integer> nextPort)
      throws IOException {
    while (true) {
      int port = nextPort.merge(source, 1, Integer::sum) - 1;
      if (port > 65_535) {
        throw new BindException("no source port left on " + source.getHostAddress());
      }
      try {
        ch.bind(new InetSocketAddress(source, port));
        return;
      } catch (BindException inUse) {
        // taken (a listener, or another process's connection): the next one
      }
    }
  }

  private static String reason(IOException e) {
    String m = e.getMessage();
    return e.getClass().getSimpleName() + (m == null ? "" : ":" + m);
  }

  private static void closeQuietly(SocketChannel ch) {
    if (ch == null) {
      return;
    }
    try {
      ch.close();
    } catch (IOException e) {
      // closing anyway
    }
  }

  /** {@code SOFT HARD} from /proc/self/limits ("Max open files"), or {@code unknown unknown}. */
  static String openFileLimit() {
    return openFileLimit(Path.of("/proc/self/limits"));
  }

  static String openFileLimit(Path limits) {
    try {
      for (String line : Files.readAllLines(limits)) {
        if (line.startsWith("Max open files")) {
          String[] f = line.substring("Max open files".length()).trim().split("\\s+");
          return f[0] + " " + f[1];
        }
      }
    } catch (IOException | RuntimeException e) {
      // unknown below
    }
    return "unknown unknown";
  }
}
