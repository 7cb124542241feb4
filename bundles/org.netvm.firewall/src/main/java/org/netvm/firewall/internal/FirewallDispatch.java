package org.netvm.firewall.internal;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.netvm.dataplane.Chain;
import org.netvm.dataplane.ChainRef;
import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.IpAddress;
import org.netvm.dataplane.IpPrefix;
import org.netvm.dataplane.Match;
import org.netvm.dataplane.Rule;
import org.netvm.policy.BasePolicy;

/**
 * Pure: the guests' addresses → the dispatch contribution ({@value #OWNER}) that sends a packet from a vif to
 * its guest's chain in O(log n) rule evaluations instead of one rule per guest address in {@code forward}:
 *
 * <pre>
 * chain forward       { ... iifgroup 2 oifgroup != 2 jump fw-dispatch ... }
 * chain fw-dispatch   { ip saddr 10.137.0.0/28 jump fw-dispatch-1; ...                 (at most 16)
 *                       ip6 saddr fd09:24ef::5 jump fw-3 }
 * chain fw-dispatch-1 { ip saddr 10.137.0.2 jump fw-7; ip saddr 10.137.0.3 jump fw-9; ... } (at most 16)
 * </pre>
 *
 * A node with more than {@value #FANOUT} addresses splits them by the 4 bits after their common prefix into
 * at most 16 children (a prefix tree); a child with one address jumps to the guest's chain directly. With n
 * guests a packet passes about 16·log16(n) rules at worst (≈ 40 for 1 000). The tree changes only when a
 * guest's addresses come or go, never when its rules change. Chains are numbered in tree order.
 *
 * <p>A packet that matches no address falls through to the fail-closed catch-all
 * ({@link FirewallPlanner#closed()}), a separate contribution: if this one were ever refused by the
 * dataplane (a jump to a chain not yet declared), traffic is refused, not let through.
 */
final class FirewallDispatch {
    static final String OWNER = "firewall/dispatch";
    static final String ROOT = "fw-dispatch"; // not "fwd": an nft keyword
    static final int FANOUT = 16;
    private static final int BITS = 4;

    private FirewallDispatch() {
    }

    /** The dispatch for {@code guests} (domain id → its addresses); guests without addresses are left out. */
    static Contribution plan(Map<Integer, List<IpAddress>> guests) {
        TreeMap<IpAddress, Integer> byAddress = new TreeMap<>();
        guests.forEach((domid, addresses) -> addresses.forEach(a -> byAddress.merge(a, domid, Math::min)));
        Contribution.Builder b = Contribution.builder(OWNER).chain(Chain.regular(BasePolicy.FAMILY, ROOT));
        b.rule(Rule.in(FirewallPlanner.FORWARD).iifgroup(BasePolicy.VIF_GROUP)
                .not(Match.oifgroup(BasePolicy.VIF_GROUP)).jump(ROOT));
        int[] next = {1};
        for (int version : new int[] {4, 6}) {
            List<Map.Entry<IpAddress, Integer>> entries = byAddress.entrySet().stream()
                    .filter(e -> e.getKey().version() == version).toList();
            node(b, ROOT, entries, next);
        }
        return b.build();
    }

    /** Rules of chain {@code chain} for {@code entries} (sorted, one IP version), recursing into children. */
    private static void node(Contribution.Builder b, String chain, List<Map.Entry<IpAddress, Integer>> entries,
            int[] next) {
        ChainRef ref = ChainRef.of(BasePolicy.FAMILY, chain);
        if (entries.isEmpty()) {
            return;
        }
        int width = entries.getFirst().getKey().version() == 4 ? 32 : 128;
        int common = commonPrefix(entries.getFirst().getKey().bytes(), entries.getLast().getKey().bytes(), width);
        if (entries.size() <= FANOUT || common == width) {
            entries.forEach(e -> b.rule(leaf(ref, e)));
            return;
        }
        int length = Math.min(width, common + BITS);
        int from = 0;
        while (from < entries.size()) {
            byte[] key = mask(entries.get(from).getKey().bytes(), length);
            int to = from + 1;
            while (to < entries.size() && java.util.Arrays.equals(key, mask(entries.get(to).getKey().bytes(), length))) {
                to++;
            }
            List<Map.Entry<IpAddress, Integer>> group = entries.subList(from, to);
            if (group.size() == 1) {
                b.rule(leaf(ref, group.getFirst()));
            } else {
                String child = ROOT + "-" + next[0]++;
                b.chain(Chain.regular(BasePolicy.FAMILY, child));
                b.rule(Rule.in(ref).match(new Match.Address(Match.Side.SOURCE, new IpPrefix(address(key), length), false))
                        .jump(child));
                node(b, child, group, next);
            }
            from = to;
        }
    }

    private static Rule leaf(ChainRef chain, Map.Entry<IpAddress, Integer> e) {
        return Rule.in(chain).match(new Match.Address(Match.Side.SOURCE, IpPrefix.host(e.getKey()), false))
                .jump(FirewallPlanner.chain(e.getValue()));
    }

    private static int commonPrefix(byte[] a, byte[] b, int width) {
        for (int bit = 0; bit < width; bit++) {
            int m = 0x80 >> (bit % 8);
            if ((a[bit / 8] & m) != (b[bit / 8] & m)) {
                return bit;
            }
        }
        return width;
    }

    private static byte[] mask(byte[] a, int length) {
        for (int bit = length; bit < a.length * 8; bit++) {
            a[bit / 8] &= (byte) ~(0x80 >> (bit % 8));
        }
        return a;
    }

    private static IpAddress address(byte[] bytes) {
        try {
            return IpAddress.of(InetAddress.getByAddress(bytes).getHostAddress());
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e); // 4 or 16 bytes
        }
    }
}
