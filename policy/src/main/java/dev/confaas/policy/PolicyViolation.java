package dev.confaas.policy;

import java.util.List;
import java.util.Optional;

/**
 * Why a set of images may not share a TD: {@code rejecting} has {@code rejectUnaccepted} and
 * {@code unreachable} cannot be reached from it in the accepts graph.
 *
 * @param rejecting the image with {@code rejectUnaccepted=true} whose requirement fails
 * @param unreachable the image it does not accept, directly or transitively
 * @param reachable the images {@code rejecting} does reach (itself first); their rules were tried
 * @param closest the rule among those images' accepts that came nearest to matching {@code
 *     unreachable}, with the reason it does not match; empty when none of them has any rule
 * @param message the whole explanation for a function author
 */
record PolicyViolation(
    PolicyImage rejecting,
    PolicyImage unreachable,
    List<PolicyImage> reachable,
    Optional<ClosestRule> closest,
    String message) {

  public PolicyViolation {
    reachable = List.copyOf(reachable);
  }

  /**
   * The rule, of {@code owner}'s accepts, that came nearest to matching, and why it does not.
   *
   * @param owner the image whose {@code policy.accepts} holds the rule
   * @param rule the rule as written
   * @param reason why it does not match, e.g. the SVN is too low
   */
  public record ClosestRule(PolicyImage owner, AcceptRule rule, String reason) {}

  static PolicyViolation explain(
      PolicyImage rejecting, PolicyImage unreachable, List<PolicyImage> reachable) {
    ClosestRule best = null;
    AcceptRule.Closeness bestRank = null;
    int rules = 0;
    for (PolicyImage owner : reachable) {
      for (AcceptRule rule : owner.policy().accepts()) {
        rules++;
        AcceptRule.Comparison c = rule.compare(unreachable);
        if (bestRank == null || c.rank().compareTo(bestRank) > 0) {
          bestRank = c.rank();
          best = new ClosestRule(owner, rule, c.reason());
        }
      }
    }
    StringBuilder m = new StringBuilder();
    m.append("image ").append(rejecting.describe())
        .append(" has rejectUnaccepted=true, and image ").append(unreachable.describe())
        .append(" is not reachable from it through accepts");
    if (reachable.size() > 1) {
      m.append(" (it reaches");
      for (PolicyImage r : reachable.subList(1, reachable.size())) {
        m.append(' ').append(r.imageId());
      }
      m.append(')');
    }
    m.append(". ");
    if (best == null) {
      m.append(reachable.size() > 1
          ? "None of them has any rule in policy.accepts. "
          : "Its policy.accepts is empty. ");
    } else {
      m.append(reachable.size() > 1 ? "None of their " : "None of its ").append(rules)
          .append(rules == 1 ? " rule" : " rules")
          .append(" matches; closest is '").append(best.rule()).append("' of ")
          .append(best.owner() == rejecting ? "that image" : "image " + best.owner().imageId())
          .append(": ").append(best.reason()).append(". ");
    }
    m.append("To allow it, add a rule such as '").append(suggestedRule(unreachable))
        .append("' to policy.accepts of ").append(rejecting.imageId())
        .append(" or of an image it accepts, and re-sign that manifest.");
    return new PolicyViolation(
        rejecting, unreachable, reachable, Optional.ofNullable(best), m.toString());
  }

  /**
   * A rule that would accept {@code image}: by self alias if it has one (so the rule survives updates
   * of that image), at the highest SVN of its first alias name (so it does not also accept older,
   * possibly vulnerable versions); otherwise by manifest digest.
   */
  private static String suggestedRule(PolicyImage image) {
    ImageAlias top = null;
    for (ImageAlias a : image.selfAliases()) {
      if (top == null
          || (a.name().equals(top.name()) && Long.compareUnsigned(a.svn(), top.svn()) > 0)) {
        top = a;
      }
    }
    String prefix = image.hash() + "/" + image.signer() + "/";
    return prefix + (top == null ? image.manifest() : top.toString());
  }
}
