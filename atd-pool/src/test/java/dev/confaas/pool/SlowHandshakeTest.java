package dev.confaas.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An agent whose first TLS handshakes take longer than the 10 s either side allows (what a TD
 * under TCG does on a loaded machine: its JVM is cold and its CPU emulated) is still attested: the
 * attestor connects again while the handshakes only time out, within its call limit. Before, it
 * gave up after the client's three tries ("Report failed: UNAVAILABLE",
 * SslHandshakeTimeoutException) and the TCG guest never entered the pool.
 *
 * <p>The slow handshakes are real: a TCP relay in front of a real process TD holds the first {@value
 * #STALLED} connections without forwarding a byte, and relays every later one.
 */
class SlowHandshakeTest {
  /** Connections held silent: more than the client's tries of one call. */
  static final int STALLED = 4;

  @TempDir Path tmp;

  @Test
  void aTdWhoseFirstHandshakesTimeOutIsAttestedOnALaterConnection() throws Exception {
    try (ProcessTdLauncher launcher =
            new ProcessTdLauncher(ProcessTdLauncher.Config.defaults(tmp.resolve("pool")));
        LaunchedTd td = launcher.launch("td-slow-handshake");
        StallingRelay relay = new StallingRelay(td.agentTarget())) {
      LaunchedTd behindRelay = new LaunchedTd() {
        @Override
        public String id() {
          return td.id();
        }

        @Override
        public String backend() {
          return td.backend();
        }

        @Override
        public String agentTarget() {
          return "127.0.0.1:" + relay.port();
        }

        @Override
        public boolean isAlive() {
          return td.isAlive();
        }

        @Override
        public void close() {
          td.close();
        }
      };
      try (AttestedTd attested = launcher.attestor(Duration.ofSeconds(90)).attest(behindRelay)) {
        assertTrue(attested.verification().verified(), attested.verification().message());
        assertEquals(List.of(), attested.rtmr3Log());
      }
      assertTrue(relay.connections() > STALLED, "the stalled connections were not all tried");
    }
  }

  /** Accepts on a loopback port; holds the first connections silent, relays the others. */
  private static final class StallingRelay implements AutoCloseable {
    private final ServerSocket server;
    private final int targetPort;
    private final AtomicInteger accepted = new AtomicInteger();
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();

    StallingRelay(String target) throws IOException {
      this.targetPort = Integer.parseInt(target.substring(target.lastIndexOf(':') + 1));
      this.server = new ServerSocket(0, 16, InetAddress.getLoopbackAddress());
      Thread t = new Thread(this::accept, "stalling-relay");
      t.setDaemon(true);
      t.start();
    }

    int port() {
      return server.getLocalPort();
    }

    int connections() {
      return accepted.get();
    }

    private void accept() {
      while (!server.isClosed()) {
        try {
          Socket in = server.accept();
          sockets.add(in);
          if (accepted.incrementAndGet() <= STALLED) {
            continue; // held open, never answered: the client's handshake times out
          }
          Socket out = new Socket(InetAddress.getLoopbackAddress(), targetPort);
          sockets.add(out);
          pump(in, out);
          pump(out, in);
        } catch (IOException closed) {
          return;
        }
      }
    }

    private static void pump(Socket from, Socket to) {
      Thread t = new Thread(() -> {
        try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
          in.transferTo(out);
        } catch (IOException ended) {
          // either side closed
        } finally {
          try {
            to.shutdownOutput();
          } catch (IOException ignored) {
            // already closed
          }
        }
      }, "stalling-relay-pump");
      t.setDaemon(true);
      t.start();
    }

    @Override
    public void close() throws IOException {
      server.close();
      for (Socket s : sockets) {
        s.close();
      }
    }
  }
}
