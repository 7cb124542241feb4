/**
 * Names of the netvm's base packet filter policy, for bundles that add to it.
 *
 * <p>The policy bundle contributes (as owner {@value org.netvm.policy.BasePolicy#OWNER}) the chains and
 * sets named in {@link org.netvm.policy.BasePolicy}. Other bundles never declare them; they add
 * <em>elements</em> to the anti-spoofing sets (the vif bundle, one contribution per guest, built with
 * {@link org.netvm.policy.BasePolicy#guestElements}) and <em>rules</em> to the policy's chains:
 * <ul>
 * <li>The policy's early rules (user-chain jump, invalid drop, established/related accept, ...) use
 * {@link org.netvm.dataplane.Rule#FIRST}; its catch-alls (reject from vifs, drop of new traffic to vifs,
 * vif-to-uplink accept, masquerade) use {@link org.netvm.dataplane.Rule#LAST}; its contribution priority
 * is {@value org.netvm.policy.BasePolicy#PRIORITY}, so at equal order keys its rules come first.</li>
 * <li>A feature adds rules with an order between the two (e.g. {@link org.netvm.dataplane.Rule#DEFAULT}):
 * they see only packets the early rules let through, and decide before the catch-alls.</li>
 * <li>The chains {@link org.netvm.policy.BasePolicy#CUSTOM_INPUT} and
 * {@link org.netvm.policy.BasePolicy#CUSTOM_FORWARD} are jumped to first, before any of the policy's
 * rules; they belong to the user and to third-party bundles, netvm's own bundles never put a rule there.
 * A third party adds rules to them with {@link org.netvm.dataplane.Dataplane#put} or by registering a
 * {@link org.netvm.dataplane.Contribution} service (whiteboard), under an owner id of its own (start it
 * with the bundle's symbolic name). See {@code docs/extending.md}.</li>
 * </ul>
 * Interfaces in group {@value org.netvm.policy.BasePolicy#VIF_GROUP} are downstream (guest) interfaces;
 * everything else is treated as uplink.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package org.netvm.policy;
