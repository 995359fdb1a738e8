/**
 * ACON launch policy: {@code accepts} rules ({@code HASH/SIGNER/MANIFEST}), transitive acceptance,
 * {@code rejectUnaccepted}, and the question the scheduler and the TD agent ask: may this image join a TD
 * that already holds these images, and if not, which rule stopped it.
 *
 * <p>Front door: {@link dev.confaas.policy.PolicyImage} (the facts about one image),
 * {@link dev.confaas.policy.PolicyGraph} ({@code empty().tryAdd(image)} in the agent,
 * {@code mayJoin(loaded, candidate)} in the scheduler, {@code loadOrder(images)} for a fresh TD) and
 * {@link dev.confaas.policy.Admission}. Rule syntax and its edge cases are on
 * {@link dev.confaas.policy.AcceptRule}.
 *
 * <h2>Which images may share a TD</h2>
 *
 * The <a href="https://github.com/intel/ACON/blob/main/doc/Image.md#launch-policy">ACON spec</a> says
 * informally: "2 <em>Image</em>s can shared an <em>aTD</em> if and only if their policies accept each
 * other". Read literally (every pair must accept each other both ways) that contradicts the rest of
 * the section: its normative validity table says
 *
 * <blockquote>
 * {@code 0} (None) [vertices with {@code rejectUnaccepted == true}]: Any <em>Policy Graph</em> is valid.
 * <br>{@code 1+}: All vertices (including those with {@code rejectUnaccepted == true}) must be reachable
 * from <strong>every</strong> vertex with {@code rejectUnaccepted == true}
 * </blockquote>
 *
 * and it explains "If <em>A</em> accepts both <em>B</em> and <em>C</em>, then <em>B</em> and
 * <em>C</em> also accept each other unless {@code rejectUnaccepted} is {@code true} for <em>B</em> (or
 * <em>C</em>)"; its Dependency use case has dependencies that do not accept the main image. So we
 * implement the table: an image without {@code rejectUnaccepted} accepts everyone (its {@code accepts}
 * only adds edges that others can reach through), and an image with it accepts exactly what it
 * reaches. "Accept each other" holds in that sense, not as mutual listing.
 *
 * <h2>Order of loading</h2>
 *
 * "{@code acond} maintains a <em>Policy Graph</em> that reflects the set of loaded <em>Image</em>s and
 * must be valid at any point in time": each load builds the would-be graph and is refused if that is
 * invalid. acond does check on every load ({@code AddManifest} in {@code acond/src/server.rs} calls
 * {@code is_manifest_accepted} before measuring the image; an image ID already loaded returns early),
 * and so does our agent through {@link dev.confaas.policy.PolicyGraph#tryAdd}. Consequences, all
 * tested:
 *
 * <ul>
 *   <li>Whether a <em>set</em> of images is valid does not depend on order ({@link
 *       dev.confaas.policy.PolicyGraph#validate}).
 *   <li>Incremental admission ({@link dev.confaas.policy.PolicyGraph#tryAdd}) does: a valid set may
 *       have invalid prefixes. With main image M ({@code rejectUnaccepted}) accepting A and A accepting
 *       B, loading M then B is refused (B is not yet reachable from M) while M, A, B succeeds. Three
 *       {@code rejectUnaccepted} images accepting each other in a cycle form a valid set that no order
 *       can load (every two-image prefix lacks the path back). {@link
 *       dev.confaas.policy.PolicyGraph#loadOrder} finds an order when one exists.
 *   <li>Once accepted, an image is never invalidated by later loads (adding a vertex only adds
 *       paths), so a graph built with {@code tryAdd} is always valid.
 * </ul>
 *
 * <h2>Differences from acond</h2>
 *
 * acond ({@code acond/src/pod.rs}, {@code is_manifest_accepted}) does not evaluate the graph; it uses
 * direct-edge shortcuts: an incoming image must be accepted directly by some loaded image, and an
 * incoming {@code rejectUnaccepted} image must directly accept every loaded image (or, if some loaded
 * image rejects, one of the rejecting ones). That refuses some sets the table allows (M rejecting
 * accepting A, A accepting an already loaded B: acond refuses M, we accept it). Its rule matching also
 * ignores {@code HASH} and matches a manifest digest under any signer. ConFaaS follows the spec in both
 * the scheduler and its own agent, so the two always agree.
 */
package dev.confaas.policy;
