package org.netvm.firewall.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.netvm.dataplane.ChainRef;
import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.Family;
import org.netvm.dataplane.IpAddress;
import org.netvm.kernel.ConntrackEntry;
import org.netvm.kernel.ConntrackEntry.Tuple;
import org.netvm.kernel.ConntrackTable;
import org.netvm.kernel.KernelException;
import org.netvm.testing.log.Loggers;

/** The cut through a conntrack table: which entries are deleted, and what a failing table does. */
class KernelConntrackTest {
    private static final IpAddress GUEST = IpAddress.of("10.137.0.5");
    private static final ChainRef CHAIN = ChainRef.of(Family.INET, "fw-3");
    /** From the upstream to the guest (e.g. a forwarded port): the guest's chain does not judge it. */
    private static final ConntrackEntry INBOUND = new ConntrackEntry(6,
            new Tuple(FlowTest.ip("198.51.100.9"), FlowTest.ip("10.137.0.5"), 50000, 22),
            new Tuple(FlowTest.ip("10.137.0.5"), FlowTest.ip("198.51.100.9"), 22, 50000));

    private final List<String> log = new ArrayList<>();

    /** Entries in memory; a delete removes the chosen entries that involve the addresses, as the kernel's does. */
    private static final class Table implements ConntrackTable {
        final List<ConntrackEntry> entries = new ArrayList<>();
        final List<List<InetAddress>> deletes = new ArrayList<>();
        RuntimeException failure;

        @Override
        public List<ConntrackEntry> entries(Collection<InetAddress> addresses) {
            return entries.stream().filter(e -> addresses.stream().anyMatch(e::involves)).toList();
        }

        @Override
        public int delete(Collection<InetAddress> addresses, Predicate<ConntrackEntry> which) throws KernelException {
            deletes.add(List.copyOf(addresses));
            if (failure != null) {
                throw failure;
            }
            List<ConntrackEntry> gone = entries(addresses).stream().filter(which).toList();
            entries.removeAll(gone);
            return gone.size();
        }
    }

    private static Contribution rules() throws Exception {
        GuestRules rules = RuleParser.parse(Map.of("policy", "drop", "0000", "action=accept specialtarget=dns",
                "0001", "action=accept proto=icmp icmptype=8"));
        Contribution c = FirewallPlanner.plan(new FirewallPlanner.Input(3, rules, Map.of(), 0, List.of(GUEST)));
        return c;
    }

    @Test
    void cutsOnlyTheGuestsOwnFlowsTheNewChainRefuses() throws Exception {
        Table t = new Table();
        t.entries.addAll(List.of(FlowTest.WEB, FlowTest.DNAT_DNS, FlowTest.PING, INBOUND));
        Contribution rules = rules();

        int cut = new KernelConntrack(() -> t, Loggers.formatting(log)).delete(List.of(GUEST),
                f -> !f.allowedBy(CHAIN, rules, FirewallPlanner.dns(List.of(IpAddress.of("192.168.0.1")))));

        assertEquals(1, cut);
        assertEquals(List.of(FlowTest.DNAT_DNS, FlowTest.PING, INBOUND), t.entries);
        assertEquals(List.of(List.of(FlowTest.ip("10.137.0.5"))), t.deletes);
        assertTrue(log.getFirst().startsWith("INFO conntrack: cut 1 tracked flow(s) of [10.137.0.5]"), log.toString());
    }

    @Test
    void aTableThatFailsCutsNothingAndSaysSo() {
        Table t = new Table();
        t.entries.add(FlowTest.WEB);
        t.failure = new UnsupportedOperationException("no connection tracking access");

        int cut = new KernelConntrack(() -> t, Loggers.formatting(log)).delete(List.of(GUEST), f -> true);

        assertEquals(0, cut);
        assertEquals(List.of(FlowTest.WEB), t.entries);
        assertTrue(log.getFirst().startsWith("WARN conntrack: flows of [10.137.0.5] that the new firewall rules refuse "
                + "are not cut"), log.toString());
    }
}
