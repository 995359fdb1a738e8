package dev.confaas.vendor;

import java.util.List;

/** Some {@code layers} entries of a manifest do not resolve to a digest; the message lists each. */
public final class UnresolvedLayerException extends Exception {
  private static final long serialVersionUID = 1L;

  private final transient List<ResolvedLayer> unresolved;

  public UnresolvedLayerException(List<ResolvedLayer> unresolved) {
    super(message(unresolved));
    this.unresolved = List.copyOf(unresolved);
  }

  /** The entries that did not resolve, each with its problem. */
  public List<ResolvedLayer> unresolved() {
    return unresolved;
  }

  private static String message(List<ResolvedLayer> unresolved) {
    StringBuilder b = new StringBuilder();
    b.append(unresolved.size()).append(unresolved.size() == 1 ? " layer entry does" : " layer entries do")
        .append(" not resolve: ");
    for (int i = 0; i < unresolved.size(); i++) {
      b.append(i == 0 ? "" : "; ").append(unresolved.get(i).problem().orElse("?"));
    }
    return b.toString();
  }
}
