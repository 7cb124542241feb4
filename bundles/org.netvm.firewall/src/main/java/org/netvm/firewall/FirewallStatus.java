package org.netvm.firewall;

import java.util.List;
import java.util.Objects;

import org.osgi.annotation.versioning.ProviderType;

/** What the per-guest firewall is doing; a service registered by the firewall bundle. */
@ProviderType
public interface FirewallStatus {

    /** The state now (a snapshot; cheap, never blocks). */
    Snapshot snapshot();

    /**
     * The firewall's state.
     *
     * @param enabled whether it enforces ({@code qubes-service/qubes-firewall} = 1, or configuration)
     * @param guests  guests with a firewall (a rule set or a vif), by domain id
     * @param blocked guests whose traffic is refused entirely, by domain id (empty when disabled)
     */
    record Snapshot(boolean enabled, int guests, List<Blocked> blocked) {
        public static final Snapshot DISABLED = new Snapshot(false, 0, List.of());

        public Snapshot {
            blocked = List.copyOf(blocked);
        }
    }

    /**
     * A guest whose traffic is refused entirely.
     *
     * @param domid  its domain id
     * @param reason why: no complete rule set yet, the rule text that does not parse, a name that does not
     *               resolve (text derived from guest-controlled input: print it, never interpret it)
     */
    record Blocked(int domid, String reason) {
        public Blocked {
            Objects.requireNonNull(reason, "reason");
        }
    }
}
