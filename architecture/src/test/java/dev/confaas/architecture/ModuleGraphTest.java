package dev.confaas.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
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

  /** A row of the table: the module's directory, its package root, the modules it may use. */
  record Module(String name, String pkg, Set<String> mayUse) {}

  @Test
  void theTableCoversEveryModuleOfTheReactorAndEveryClass() throws Exception {
    Set<String> reactor = new TreeSet<>(reactorModules());
    reactor.remove("architecture"); // this module: tests only
    reactor.remove("benchmarks"); // may use anything, and nothing uses it
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

  @Test
  void theTableIsReadAsWritten() {
    // Guards the parser: a row it could not read would silently allow everything.
    Module scheduler = MODULES.get("scheduler");
    assertEquals("dev.confaas.scheduler", scheduler.pkg());
    assertTrue(scheduler.mayUse().contains("atd-pool"));
    assertFalse(scheduler.mayUse().contains("function-runtime"));
    assertTrue(MODULES.get("image").mayUse().isEmpty());
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
