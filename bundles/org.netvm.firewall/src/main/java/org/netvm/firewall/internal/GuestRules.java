package org.netvm.firewall.internal;

import java.util.List;

/**
 * A guest's complete rule set: its rules in order, then the policy (Qubes appends it as a last rule).
 *
 * @param rules        the rules, in key order ({@code 0000}, {@code 0001}, ...)
 * @param policyAccept {@code policy=accept} (else drop)
 */
record GuestRules(List<FirewallRule> rules, boolean policyAccept) {
    GuestRules {
        rules = List.copyOf(rules);
    }

    /** Every {@code dsthost} name, in rule order, without repeats. */
    List<String> hostnames() {
        return rules.stream().map(FirewallRule::dsthost).filter(h -> h != null).distinct().toList();
    }
}
