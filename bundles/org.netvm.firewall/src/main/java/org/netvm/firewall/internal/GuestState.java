package org.netvm.firewall.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.IpAddress;
import org.netvm.firewall.FirewallStatus;

/** What the firewall knows of one guest (its reconciler thread only). */
final class GuestState {
    /** The addresses of its vifs. */
    List<IpAddress> addresses = List.of();
    /** Its rules, or null while it is blocked. */
    GuestRules rules;
    /** Why it is blocked ({@code rules} null), else null. */
    String problem = FirewallStore.RuleSet.NONE;
    /** Its {@code dsthost} names → addresses; null while they resolve. */
    Map<String, List<IpAddress>> resolved = Map.of();
    /** The toolstack signalled a set and waits for the handled counter. */
    boolean handledDue;
    /** The contribution last put, or null. */
    Contribution put;
    /** When its next rule expires (unix seconds), or 0. */
    long expiresAt;

    /** Nothing to enforce or answer for: no vif address, no rule set, no pending signal. */
    boolean idle() {
        return addresses.isEmpty() && rules == null && FirewallStore.RuleSet.NONE.equals(problem) && !handledDue;
    }

    /** What {@link FirewallStatus#snapshot()} shows of an enabled firewall with these guests. */
    static FirewallStatus.Snapshot snapshot(Map<Integer, GuestState> guests) {
        List<FirewallStatus.Blocked> blocked = new ArrayList<>();
        new TreeMap<>(guests).forEach((domid, g) -> {
            if (g.rules == null && g.problem != null) {
                blocked.add(new FirewallStatus.Blocked(domid, g.problem));
            }
        });
        return new FirewallStatus.Snapshot(true, guests.size(), blocked);
    }
}
