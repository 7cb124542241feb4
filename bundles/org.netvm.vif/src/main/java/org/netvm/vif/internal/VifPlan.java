package org.netvm.vif.internal;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import org.netvm.dataplane.Contribution;
import org.netvm.kernel.Link;
import org.netvm.kernel.Op;
import org.netvm.vif.VifState.Desired;

/**
 * One vif's plan for one pass, by phase (see {@link VifReconciler} for the order), made by
 * {@link VifPlanner}; the executor marks it failed when a step fails.
 */
final class VifPlan {
    final VifName vif;
    Desired desired = Desired.OFFLINE;
    VifSpec spec;
    Link link;
    Applied before;
    /** Program the vif (a valid spec and a device), else tear it down. */
    boolean program;
    boolean teardown;
    /** Phase 0: withdraw the vif's anti-spoof contribution. */
    boolean removeContribution;
    /** Phase 4: the anti-spoof contribution to put, null if the dataplane has it already. */
    Contribution contribution;
    String pending;
    /** Phase 1: stale objects to delete. */
    final List<Op> deletes = new ArrayList<>();
    /** Phase 1: proxy_arp / proxy_ndp. */
    final List<Op> sysctls = new ArrayList<>();
    /** Phase 3: permanent neighbours. */
    final List<Op> neighbours = new ArrayList<>();
    /** Phase 5: link group 2 + up, host routes, gateway addresses. */
    final List<Op> upOps = new ArrayList<>();
    /** Phase 2: addresses whose conntrack entries are purged. */
    final List<InetAddress> purge = new ArrayList<>();
    /** Addresses never purged for this vif: a refused vif's collision belongs to someone else. */
    final Set<InetAddress> keepConntrack = new HashSet<>();

    // ---- outcome (planner for invalid input, executor for failed steps)
    String error;
    boolean failed;
    boolean teardownFailed;

    VifPlan(VifName vif) {
        this.vif = vif;
    }

    String name() {
        return vif.name();
    }

    int opCount() {
        return deletes.size() + sysctls.size() + neighbours.size() + upOps.size();
    }

    /** The vif's addresses are refused ({@link AddressGuard}): failed, and torn down instead of programmed. */
    void refuse(String why) {
        fail(why);
        program = false;
        teardown = true;
    }

    void fail(String why) {
        if (!failed) {
            failed = true;
            error = why;
        }
    }

    /** The plan as text, one step a line, in the order the executor applies it (for golden files). */
    String render() {
        StringBuilder b = new StringBuilder(name()).append(" desired=")
                .append(desired.name().toLowerCase(Locale.ROOT)).append(program ? " program" : " teardown").append('\n');
        if (failed) {
            b.append("  failed: ").append(error).append('\n');
        }
        if (pending != null) {
            b.append("  pending: ").append(pending).append('\n');
        }
        if (removeContribution) {
            b.append("  0 dataplane remove ").append(AntiSpoof.owner(name())).append('\n');
        }
        ops(b, "1 batch", deletes);
        ops(b, "1 batch", sysctls);
        if (!purge.isEmpty()) {
            b.append("  2 conntrack purge");
            new LinkedHashSet<>(purge).forEach(a -> b.append(' ').append(VifSpec.text(a)));
            b.append('\n');
        }
        ops(b, "3 batch", neighbours);
        if (contribution != null) {
            b.append("  4 dataplane put ").append(contribution.owner()).append('\n');
            contribution.elements().forEach((set, els) -> b.append("      ").append(set).append(": ").append(els)
                    .append('\n'));
        }
        ops(b, "5 batch", upOps);
        return b.toString();
    }

    private static void ops(StringBuilder b, String phase, List<Op> ops) {
        ops.forEach(op -> b.append("  ").append(phase).append(": ").append(op.render()).append('\n'));
    }
}
