package dev.confaas.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaModifier;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * The module graph of ARCHITECTURE.md, enforced. The table under "Modules (Maven reactor) and who
 * may depend on whom" is read from ARCHITECTURE.md itself, so the page and these rules cannot say
 * different things; then the compiled main classes of every module (ArchUnit) and every module's
 * pom are checked against it.
 */
class ModuleGraphTest {
  // Declared first: the static fields below are computed from it.
  private static final Pattern ROW =
      Pattern.compile("^\\| `([a-z/-]+)` \\| `(dev\\.confaas\\.[a-z.]+)` \\|([^|]*)\\|");
  private static final Pattern NAME = Pattern.compile("`([a-z/-]+)`");
  private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  private static final Map<String, Module> MODULES = readTable(ROOT.resolve("ARCHITECTURE.md"));
  private static final JavaClasses MAIN =
      new ClassFileImporter()
          .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
          .importPackages("dev.confaas");

  private static final String POLICY_IMAGE_PART =
      "a component of the public record PolicyImage; vendor-layers' PolicyImagesTest checks what"
          + " PolicyImages reads from a signed manifest";
  private static final String AGENT_IN_PROCESS =
      "atd-pool's ReattestationTest serves the agent stack in its JVM to extend RTMR3 behind the"
          + " log's back; it cannot move to function-runtime (atd-pool there would be a module cycle)";

  /**
   * Top-level types that stay public though no main class outside their package uses them, each
   * with the reason. Keep it short: the default is package-private (STYLE.md).
   */
  private static final Map<String, String> PUBLIC_WITHOUT_MAIN_USE = Map.ofEntries(
      Map.entry("dev.confaas.policy.LaunchPolicy", POLICY_IMAGE_PART),
      Map.entry("dev.confaas.policy.ImageAlias", POLICY_IMAGE_PART),
      Map.entry("dev.confaas.runtime.TdAgentService", AGENT_IN_PROCESS),
      Map.entry("dev.confaas.runtime.AconImageLoader", AGENT_IN_PROCESS),
      Map.entry("dev.confaas.runtime.QuoteReporter", AGENT_IN_PROCESS),
      Map.entry("dev.confaas.runtime.InstanceSupervisor", AGENT_IN_PROCESS),
      Map.entry("dev.confaas.runtime.SealingKey", AGENT_IN_PROCESS),
      Map.entry("dev.confaas.attestation.QuoteSignatureData",
          "benchmarks' QuoteVerifyBenchmark reads the quote's signature and key for its baseline"
              + " without naming the type, so neither bytecode here nor an import shows it"));

  /** Packages that are a public API as a whole, with the reason. */
  private static final Map<String, String> PUBLIC_PACKAGES =
      Map.of(
          "dev.confaas.lambda",
          "the Java handler API function authors compile against (vendor-layers' java-runtime)");

  /** A row of the table: the module's directory, its package root, the modules it may use. */
  record Module(String name, String pkg, Set<String> mayUse) {}

  @Test
  void theTableCoversEveryModuleOfTheReactorAndEveryClass() throws Exception {
    Set<String> reactor = new TreeSet<>(reactorModules());
    reactor.remove("architecture"); // this module: tests only
    reactor.remove("benchmarks"); // may use anything, and nothing uses it
    reactor.remove("reliability"); // profile only, uses no module: theReliabilityHarnessUsesNoModule
    assertEquals(reactor, MODULES.keySet(), "ARCHITECTURE.md's module table vs the parent pom's <modules>");
    List<String> homeless = new ArrayList<>();
    for (JavaClass c : MAIN) {
      if (moduleOf(c.getPackageName()) == null) {
        homeless.add(c.getName());
      }
    }
    assertTrue(homeless.isEmpty(), "classes outside every module's package root: " + homeless);
    // Guards the rules below: a module whose classes were not imported would pass them all.
    for (Module m : MODULES.values()) {
      assertTrue(
          MAIN.stream().anyMatch(c -> m.name().equals(moduleOf(c.getPackageName()))),
          "no main class of " + m.name() + " (" + m.pkg() + ") was found on the class path");
    }
  }

  @Test
  void theHostNeverCompilesAgainstTheAgent() {
    String agent = MODULES.get("function-runtime").pkg();
    noClasses()
        .that()
        .resideOutsideOfPackage(agent + "..")
        .should()
        .dependOnClassesThat()
        .resideInAPackage(agent + "..")
        .because(
            "function-runtime is the agent inside the TD: the host speaks to it only through"
                + " agent-api (agent.proto, AgentClient) and launches it as a program")
        .check(MAIN);
  }

  @Test
  void everyModuleUsesOnlyWhatTheTableAllows() {
    for (Module m : MODULES.values()) {
      List<String> forbidden = new ArrayList<>();
      for (Module other : MODULES.values()) {
        if (!other.name().equals(m.name()) && !m.mayUse().contains(other.name())) {
          forbidden.add(other.pkg() + "..");
        }
      }
      if (forbidden.isEmpty()) {
        continue;
      }
      noClasses()
          .that()
          .resideInAPackage(m.pkg() + "..")
          .should()
          .dependOnClassesThat()
          .resideInAnyPackage(forbidden.toArray(String[]::new))
          .because("ARCHITECTURE.md lets " + m.name() + " use only " + m.mayUse())
          .check(MAIN);
    }
  }

  @Test
  void modulesFormNoCycle() {
    slices().matching("dev.confaas.(*)..").should().beFreeOfCycles().check(MAIN);
  }

  @Test
  void everyPomDependsOnlyOnWhatTheTableAllows() throws Exception {
    Map<String, String> moduleOfArtifact = new TreeMap<>();
    for (String dir : reactorModules()) {
      moduleOfArtifact.put(artifactId(ROOT.resolve(dir).resolve("pom.xml")), dir);
    }
    List<String> wrong = new ArrayList<>();
    for (Module m : MODULES.values()) {
      for (String[] dep : confaasDependencies(ROOT.resolve(m.name()).resolve("pom.xml"))) {
        String used = moduleOfArtifact.get(dep[0]);
        String scope = dep[1];
        if (scope.equals("test") || scope.equals("runtime")) {
          continue; // not compiled against by main code
        }
        if (!m.mayUse().contains(used)) {
          wrong.add(m.name() + " -> " + used + " (scope " + scope + ")");
        }
      }
    }
    assertTrue(wrong.isEmpty(), "pom dependencies ARCHITECTURE.md does not allow: " + wrong);
  }

  @Test
  void noTwoTopLevelClassesShareAName() {
    Map<String, List<String>> byName =
        MAIN.stream()
            .filter(JavaClass::isTopLevelClass)
            .filter(c -> !c.getSimpleName().equals("package-info"))
            // generated from agent.proto: its names are the protocol's
            .filter(c -> !c.getPackageName().startsWith(MODULES.get("agent-api").pkg() + ".v1"))
            .collect(Collectors.groupingBy(JavaClass::getSimpleName, TreeMap::new,
                Collectors.mapping(JavaClass::getName, Collectors.toList())));
    List<String> clashes = new ArrayList<>();
    byName.forEach((name, classes) -> {
      if (classes.size() > 1) {
        clashes.add(classes.toString());
      }
    });
    assertTrue(clashes.isEmpty(), "classes that share a simple name (rename one for what it is): " + clashes);
  }

  /**
   * STYLE.md: a module's public types are few. A public top-level type must be used by main code
   * outside its package (named in bytecode, a parameter of something called, or imported in a
   * source file: javac inlines constants, and benchmarks' classes are not on this test's class
   * path), unless it is a program's entry point, generated from agent.proto, in a public API
   * package, or listed in PUBLIC_WITHOUT_MAIN_USE with the reason.
   */
  @Test
  void publicTypesAreUsedOutsideTheirPackage() throws IOException {
    String generated = MODULES.get("agent-api").pkg() + ".v1";
    Set<String> usedOutside = new TreeSet<>();
    for (JavaClass c : MAIN) {
      // A use of a nested type (Outer.Inner) needs Outer public too, so it counts for Outer.
      if (c.getDirectDependenciesToSelf().stream()
          .anyMatch(d -> !d.getOriginClass().getPackageName().equals(c.getPackageName()))) {
        usedOutside.add(topLevel(c).getName());
      }
      // A lambda passed to a constructor or method leaves no dependency on its interface in
      // bytecode, but the interface must be public: count the parameter types of what is called.
      for (var call : c.getCodeUnitCallsFromSelf()) {
        for (JavaClass param : call.getTarget().getRawParameterTypes()) {
          if (!param.getPackageName().equals(c.getPackageName())) {
            usedOutside.add(topLevel(param).getName());
          }
        }
      }
    }
    Map<String, List<String>> sources = mainSourcesByPackage();
    List<String> needless = new ArrayList<>();
    List<String> stale = new ArrayList<>();
    Set<String> publicTypes = new TreeSet<>();
    for (JavaClass c : MAIN) {
      if (!c.isTopLevelClass()
          || !c.getModifiers().contains(JavaModifier.PUBLIC)
          || c.getSimpleName().equals("package-info")
          || c.getPackageName().startsWith(generated)) {
        continue;
      }
      publicTypes.add(c.getName());
      if (PUBLIC_PACKAGES.containsKey(c.getPackageName()) || isEntryPoint(c)) {
        continue;
      }
      boolean used = usedOutside.contains(c.getName()) || importedOutside(c, sources);
      boolean listed = PUBLIC_WITHOUT_MAIN_USE.containsKey(c.getName());
      if (used && listed) {
        stale.add(c.getName() + " (main code outside its package uses it now)");
      } else if (!used && !listed) {
        needless.add(c.getName());
      }
    }
    for (String listed : PUBLIC_WITHOUT_MAIN_USE.keySet()) {
      if (!publicTypes.contains(listed)) {
        stale.add(listed + " (no such public top-level type)");
      }
    }
    assertTrue(
        needless.isEmpty(),
        "public types no main class outside their package uses: make them package-private (drop"
            + " `public` from the type), or, if something else needs them public, list them in"
            + " PUBLIC_WITHOUT_MAIN_USE with the reason: "
            + needless);
    assertTrue(stale.isEmpty(), "remove these entries from PUBLIC_WITHOUT_MAIN_USE: " + stale);
  }

  /**
   * The reliability harness (in the reactor only with {@code -P reliability}, so not on this test's
   * class path) drives {@code confaas up} from outside: its pom may name a ConFaaS module only in
   * test or runtime scope (cli, so that {@code -am} packages it first), and its sources import no
   * ConFaaS package but its own.
   */
  @Test
  void theReliabilityHarnessUsesNoModule() throws Exception {
    Path module = ROOT.resolve("reliability");
    assertTrue(reactorModules().contains("reliability"), "no reliability module in the parent pom");
    List<String> wrong = new ArrayList<>();
    for (String[] dep : confaasDependencies(module.resolve("pom.xml"))) {
      if (!dep[1].equals("test") && !dep[1].equals("runtime")) {
        wrong.add("pom: " + dep[0] + " (scope " + dep[1] + ")");
      }
    }
    Pattern confaasImport = Pattern.compile(
        "^import\\s+(static\\s+)?dev\\.confaas\\.(?!reliability[.;])(\\S+);", Pattern.MULTILINE);
    try (var files = Files.walk(module.resolve("src"))) {
      for (Path f : (Iterable<Path>) files.filter(p -> p.toString().endsWith(".java"))::iterator) {
        Matcher m = confaasImport.matcher(Files.readString(f));
        while (m.find()) {
          wrong.add(ROOT.relativize(f) + ": imports dev.confaas." + m.group(2));
        }
      }
    }
    assertTrue(wrong.isEmpty(), "the reliability harness must use ConFaaS only from outside"
        + " (HTTP, Kafka, the CLI as a program): " + wrong);
  }

  @Test
  void theTableIsReadAsWritten() {
    // Guards the parser: a row it could not read would silently allow everything.
    Module scheduler = MODULES.get("scheduler");
    assertEquals("dev.confaas.scheduler", scheduler.pkg());
    assertTrue(scheduler.mayUse().contains("atd-pool"));
    assertFalse(scheduler.mayUse().contains("function-runtime"));
    assertTrue(MODULES.get("image").mayUse().isEmpty());
  }

  /** The text of every main source file, benchmarks' too, by package. */
  private static Map<String, List<String>> mainSourcesByPackage() throws IOException {
    Map<String, List<String>> out = new TreeMap<>();
    List<String> dirs = new ArrayList<>(MODULES.keySet());
    dirs.add("benchmarks");
    for (String dir : dirs) {
      Path root = ROOT.resolve(dir).resolve("src/main/java");
      if (!Files.isDirectory(root)) {
        continue;
      }
      try (var files = Files.walk(root)) {
        for (Path f : (Iterable<Path>) files.filter(p -> p.toString().endsWith(".java"))::iterator) {
          String pkg = root.relativize(f.getParent()).toString().replace(f.getFileSystem().getSeparator(), ".");
          out.computeIfAbsent(pkg, k -> new ArrayList<>()).add(Files.readString(f));
        }
      }
    }
    return out;
  }

  /**
   * Whether a main source file of another package imports {@code c}: a class used only for its
   * constants leaves no trace in bytecode (javac inlines them), and benchmarks' classes are not
   * imported by ArchUnit here.
   */
  private static boolean importedOutside(JavaClass c, Map<String, List<String>> sources) {
    Pattern named =
        Pattern.compile("^import\\s+(static\\s+)?" + Pattern.quote(c.getName()) + "\\s*[.;]", Pattern.MULTILINE);
    return sources.entrySet().stream()
        .filter(e -> !e.getKey().equals(c.getPackageName()))
        .flatMap(e -> e.getValue().stream())
        .anyMatch(text -> named.matcher(text).find());
  }

  private static JavaClass topLevel(JavaClass c) {
    JavaClass top = c;
    while (top.getEnclosingClass().isPresent()) {
      top = top.getEnclosingClass().get();
    }
    return top;
  }

  /** Declares {@code public static void main(String[])}: run as a program, not used as a type. */
  private static boolean isEntryPoint(JavaClass c) {
    return c.getMethods().stream()
        .anyMatch(
            m -> m.getOwner().equals(c)
                && m.getName().equals("main")
                && m.getModifiers().containsAll(Set.of(JavaModifier.PUBLIC, JavaModifier.STATIC))
                && m.getRawParameterTypes().size() == 1
                && m.getRawParameterTypes().get(0).getName().equals(String[].class.getName()));
  }

  // --- reading ARCHITECTURE.md and the poms ------------------------------------------------------


  private static Map<String, Module> readTable(Path architecture) {
    Map<String, Module> out = new TreeMap<>();
    try {
      for (String line : Files.readAllLines(architecture)) {
        Matcher m = ROW.matcher(line);
        if (m.find()) {
          Set<String> uses = new TreeSet<>();
          Matcher names = NAME.matcher(m.group(3));
          while (names.find()) {
            uses.add(names.group(1));
          }
          out.put(m.group(1), new Module(m.group(1), m.group(2), uses));
        }
      }
    } catch (IOException e) {
      fail("cannot read " + architecture + ": " + e);
    }
    if (out.isEmpty()) {
      fail(architecture + " has no module table rows of the form | `module` | `package` | `uses`, ... |");
    }
    for (Module m : out.values()) {
      for (String used : m.mayUse()) {
        if (!out.containsKey(used)) {
          fail("ARCHITECTURE.md: " + m.name() + " may use `" + used + "`, which is not a module in the table");
        }
      }
    }
    return out;
  }

  private static String moduleOf(String pkg) {
    String best = null;
    int bestLength = -1;
    for (Module m : MODULES.values()) {
      if ((pkg.equals(m.pkg()) || pkg.startsWith(m.pkg() + ".")) && m.pkg().length() > bestLength) {
        best = m.name();
        bestLength = m.pkg().length();
      }
    }
    return best;
  }

  private static List<String> reactorModules() throws Exception {
    Element project = parse(ROOT.resolve("pom.xml"));
    NodeList modules = project.getElementsByTagName("module");
    List<String> out = new ArrayList<>();
    for (int i = 0; i < modules.getLength(); i++) {
      out.add(modules.item(i).getTextContent().trim());
    }
    return out;
  }

  private static String artifactId(Path pom) throws Exception {
    Element project = parse(pom);
    for (int i = 0; i < project.getChildNodes().getLength(); i++) {
      if (project.getChildNodes().item(i) instanceof Element e && e.getTagName().equals("artifactId")) {
        return e.getTextContent().trim();
      }
    }
    throw new IllegalStateException(pom + " has no artifactId");
  }

  /** {artifactId, scope} of each dev.confaas dependency the pom declares (not managed ones). */
  private static List<String[]> confaasDependencies(Path pom) throws Exception {
    Element project = parse(pom);
    List<String[]> out = new ArrayList<>();
    NodeList deps = project.getElementsByTagName("dependency");
    for (int i = 0; i < deps.getLength(); i++) {
      Element d = (Element) deps.item(i);
      if (d.getParentNode().getParentNode() != project) {
        continue; // under dependencyManagement or a plugin
      }
      if (text(d, "groupId").equals("dev.confaas")) {
        String scope = text(d, "scope");
        out.add(new String[] {text(d, "artifactId"), scope.isEmpty() ? "compile" : scope});
      }
    }
    return out;
  }

  private static String text(Element e, String tag) {
    NodeList n = e.getElementsByTagName(tag);
    return n.getLength() == 0 ? "" : n.item(0).getTextContent().trim();
  }

  private static Element parse(Path pom) throws Exception {
    return DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(pom.toFile()).getDocumentElement();
  }
}
