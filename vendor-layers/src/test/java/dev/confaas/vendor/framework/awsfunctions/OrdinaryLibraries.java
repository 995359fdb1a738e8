package dev.confaas.vendor.framework.awsfunctions;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import java.awt.image.BufferedImage;
import java.beans.Introspector;
import java.io.ByteArrayOutputStream;
import java.io.StringReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.Charset;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.random.RandomGenerator;
import javax.imageio.ImageIO;
import javax.xml.parsers.DocumentBuilderFactory;
import org.xml.sax.InputSource;

/**
 * Touches what ordinary Java libraries use from a JDK and reports what each gave, so the test can
 * tell which part of the JRE is missing.
 */
public class OrdinaryLibraries implements RequestHandler<Map<String, Object>, Map<String, String>> {
  @Override
  public Map<String, String> handleRequest(Map<String, Object> event, Context context) {
    Map<String, String> out = new TreeMap<>();
    out.put("beans", attempt(() -> Introspector.decapitalize("OrderId")));
    out.put("sql", attempt(() -> java.sql.Timestamp.valueOf("2026-11-22 07:00:00").toString()));
    out.put("xml", attempt(() -> DocumentBuilderFactory.newInstance().newDocumentBuilder()
        .parse(new InputSource(new StringReader("<a><b>x</b></a>")))
        .getDocumentElement().getTextContent()));
    out.put("imageio", attempt(() -> {
      ByteArrayOutputStream png = new ByteArrayOutputStream();
      ImageIO.write(new BufferedImage(4, 4, BufferedImage.TYPE_INT_RGB), "png", png);
      ByteArrayOutputStream jpeg = new ByteArrayOutputStream();
      ImageIO.write(new BufferedImage(4, 4, BufferedImage.TYPE_INT_RGB), "jpeg", jpeg);
      return (png.size() > 0) + "/" + (jpeg.size() > 0);
    }));
    out.put("management", attempt(() -> Long.toString(
        ManagementFactory.getRuntimeMXBean().getPid() > 0 ? 1 : 0)));
    out.put("unsafe", attempt(() -> Class.forName("sun.misc.Unsafe").getName()));
    out.put("locale", attempt(() -> LocalDate.of(2026, 1, 5)
        .format(DateTimeFormatter.ofPattern("MMMM", Locale.GERMAN))));
    out.put("charset", attempt(() -> Boolean.toString(Charset.isSupported("Shift_JIS"))));
    out.put("random", attempt(() -> RandomGenerator.getDefault().getClass().getSimpleName()));
    out.put("scripting", attempt(() -> new javax.script.ScriptEngineManager().getClass()
        .getSimpleName()));
    out.put("naming", attempt(() -> javax.naming.Context.class.getSimpleName()));
    out.put("zipfs", attempt(() -> {
      Path zip = Files.createTempFile("ordinary", ".zip");
      Files.delete(zip);
      try (var fs = FileSystems.newFileSystem(zip, Map.of("create", "true"))) {
        Files.writeString(fs.getPath("/x"), "ok");
      }
      return Long.toString(Files.size(zip) > 0 ? 1 : 0);
    }));
    out.put("shell", attempt(() -> {
      Process p = new ProcessBuilder("sh", "-c", "echo $((6 * 7))").start();
      String r = new String(p.getInputStream().readAllBytes()).strip();
      p.waitFor();
      return r;
    }));
    return out;
  }

  private interface Attempt {
    String get() throws Exception;
  }

  private static String attempt(Attempt a) {
    try {
      return a.get();
    } catch (Throwable t) {
      return "FAILED " + t;
    }
  }
}
