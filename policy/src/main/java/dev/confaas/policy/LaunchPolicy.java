package dev.confaas.policy;

import java.util.ArrayList;
import java.util.List;

/**
 * An image's launch policy, the manifest's {@code policy} object (<a
 * href="https://github.com/intel/ACON/blob/main/doc/Image.md#launch-policy">Image.md, Launch
 * Policy</a>): the images it {@code accepts} (edges of the policy graph) and whether it
 * {@code rejectUnaccepted}, i.e. requires every image in its TD to be reachable from it.
 */
public record LaunchPolicy(List<AcceptRule> accepts, boolean rejectUnaccepted) {

  /** A manifest without {@code policy}: accepts nothing, rejects nothing. */
  public static final LaunchPolicy NONE = new LaunchPolicy(List.of(), false);

  public LaunchPolicy {
    accepts = List.copyOf(accepts);
  }

  /**
   * Parses the {@code accepts} strings of a manifest.
   *
   * @throws InvalidPolicyException naming {@code policy.accepts[i]}, the rule and what is wrong
   */
  public static LaunchPolicy parse(List<String> accepts, boolean rejectUnaccepted) {
    List<AcceptRule> rules = new ArrayList<>(accepts.size());
    for (int i = 0; i < accepts.size(); i++) {
      try {
        rules.add(AcceptRule.parse(accepts.get(i)));
      } catch (InvalidPolicyException e) {
        throw new InvalidPolicyException("policy.accepts[" + i + "]: " + e.getMessage());
      }
    }
    return new LaunchPolicy(rules, rejectUnaccepted);
  }

  /** True if one of the rules matches {@code image} (a direct edge in the policy graph). */
  public boolean acceptsDirectly(PolicyImage image) {
    for (AcceptRule rule : accepts) {
      if (rule.matches(image)) {
        return true;
      }
    }
    return false;
  }
}
