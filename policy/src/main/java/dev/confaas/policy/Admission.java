package dev.confaas.policy;

/**
 * The answer to "may this image join the TD": either {@link Accepted} with the graph that now includes
 * it, or {@link Refused} with the unchanged graph and the reason.
 */
public sealed interface Admission permits Admission.Accepted, Admission.Refused {

  /** The policy graph after this admission (unchanged when refused or already loaded). */
  PolicyGraph graph();

  /** True for {@link Accepted}. */
  boolean isAccepted();

  /**
   * The image may join.
   *
   * @param graph the would-be graph, now current
   * @param alreadyLoaded true if an image with the same ID was loaded before (a no-op, as in acond)
   */
  record Accepted(PolicyGraph graph, boolean alreadyLoaded) implements Admission {
    @Override
    public boolean isAccepted() {
      return true;
    }
  }

  /**
   * The image may not join; the graph stays as it was.
   *
   * @param graph the unchanged graph
   * @param candidate the image that was refused
   * @param violation which image's {@code rejectUnaccepted} failed, for which image, and the closest rule
   */
  record Refused(PolicyGraph graph, PolicyImage candidate, PolicyViolation violation)
      implements Admission {
    @Override
    public boolean isAccepted() {
      return false;
    }

    /** A one-paragraph explanation for the function author. */
    public String message() {
      return "image " + candidate.imageId() + " may not join this TD: " + violation.message();
    }
  }
}
