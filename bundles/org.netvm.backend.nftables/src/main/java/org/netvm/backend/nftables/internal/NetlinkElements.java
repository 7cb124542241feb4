package org.netvm.backend.nftables.internal;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;

import org.netvm.dataplane.BackendException;
import org.netvm.dataplane.NamedSet;
import org.netvm.dataplane.Plan;
import org.netvm.dataplane.SetElement;
import org.netvm.dataplane.SetRef;
import org.netvm.dataplane.SetType;
import org.netvm.util.SortedMerge;

/**
 * Element-only changes (a guest's anti-spoof elements, a guest's firewall rules in the shared key sets, the
 * DNS servers' sets) straight to the kernel: one nf_tables netlink
 * batch ({@link SetElementBatch}) over a {@code NETLINK_NETFILTER} socket, each message acknowledged; all
 * acks without error = the change is in the kernel. No nft parsing and no cache refill: nft (libnftables
 * or {@code nft -i}) refetches its cache of the tables, chains and sets after every commit it makes,
 * which grows with the guests, not with the change. nft sees these changes at its next command (its cache
 * follows the ruleset's generation).
 *
 * <p>{@link #apply} handles only plans of the same structure whose changed sets have a type encoded
 * here; anything else (rules, declarations, another set type, a very large change) is left to nft. A
 * refusal (e.g. an element deleted by hand: ENOENT) changes nothing, like nft's transaction; the caller
 * then sends the full transaction, as after a refused nft delta.
 */
final class NetlinkElements implements AutoCloseable {
    /** The socket: one batch out, the acks of its sequence numbers back. */
    interface Transport extends AutoCloseable {
        /**
         * Sends {@code datagram} and waits for {@code expectedAcks} answers with a sequence number in
         * {@code firstSeq..lastSeq} (or an error of {@code firstSeq} or {@code lastSeq}, the batch's begin and
         * end: refused as a whole).
         *
         * @return errno (0: ok) by sequence number
         * @throws IOException no answer in time, or the socket failed: the outcome is unknown
         */
        Map<Integer, Integer> exchange(byte[] datagram, int firstSeq, int lastSeq, int expectedAcks) throws IOException;

        @Override
        void close();
    }

    /** The set types whose keys {@link SetElementBatch#key} encodes. */
    private static final Set<SetType> ENCODED = EnumSet.of(SetType.IPV4_ADDR, SetType.IPV6_ADDR,
            SetType.IFNAME_IPV4_ADDR, SetType.IFNAME_IPV6_ADDR, SetType.IPV4_SRC_DST_PROTO,
            SetType.IPV6_SRC_DST_PROTO, SetType.IPV4_SRC_DST_PROTO_PORT, SetType.IPV6_SRC_DST_PROTO_PORT);
    /** Elements per message: a message's nested attributes stay below 64 KiB. */
    static final int PER_MESSAGE = 1000;
    /** Larger changes go to nft (they are rare: a start or a resync). */
    static final int MAX_ELEMENTS = 8000;

    private final NftRenderer names;
    private final Transport transport;
    private int seq = (int) (System.nanoTime() >>> 8);

    NetlinkElements(NftRenderer names, Transport transport) {
        this.names = names;
        this.transport = transport;
    }

    /**
     * Applies the change from {@code before} (what the kernel holds) to {@code after} if it is element-only.
     *
     * @return true if applied (or nothing to do); false if not an element-only change sent here (nothing sent)
     * @throws BackendException the kernel refused the batch (nothing changed) or gave no answer (unknown)
     */
    boolean apply(Plan before, Plan after) throws BackendException {
        List<SetElementBatch.Change> changes = changes(before, after);
        if (changes == null) {
            return false;
        }
        if (changes.isEmpty()) {
            return true;
        }
        int first = seq;
        byte[] batch = SetElementBatch.encode(first, changes);
        int last = first + changes.size() + 1;
        seq = last + 1;
        Map<Integer, Integer> acks;
        try {
            acks = transport.exchange(batch, first, last, changes.size());
        } catch (IOException e) {
            throw new BackendException("element change over netlink: " + e.getMessage(), "");
        }
        for (int s : new int[] {first, last}) { // the batch's begin or end: refused as a whole
            Integer whole = acks.get(s);
            if (whole != null && whole != 0) {
                throw refused("the batch", whole);
            }
        }
        for (int i = 0; i < changes.size(); i++) {
            Integer errno = acks.get(first + 1 + i);
            if (errno == null || errno != 0) {
                SetElementBatch.Change c = changes.get(i);
                throw refused((c.add() ? "add element " : "delete element ") + names.tableSpec(c.family()) + " "
                        + c.set(), errno == null ? -1 : errno);
            }
        }
        return true;
    }

    /**
     * The messages taking {@code before} to {@code after}: deletions, then additions; null if that is not
     * an element-only change of sets encoded here, or too large.
     */
    List<SetElementBatch.Change> changes(Plan before, Plan after) {
        if (!before.sameStructure(after)) {
            return null;
        }
        TreeSet<SetRef> refs = new TreeSet<>(before.elements().keySet());
        refs.addAll(after.elements().keySet());
        List<SetElementBatch.Change> deletes = new ArrayList<>();
        List<SetElementBatch.Change> adds = new ArrayList<>();
        int count = 0;
        for (SetRef ref : refs) {
            Plan.ElementChange known = after.elementChange(ref, before); // an incremental merge's own record
            if (known != null && known.added().isEmpty() && known.removed().isEmpty()) {
                continue; // untouched by an incremental merge
            }
            NamedSet set = declared(after, ref);
            if (set == null || !ENCODED.contains(set.type())) {
                return null;
            }
            List<SetElement> gone = new ArrayList<>();
            List<SetElement> added = new ArrayList<>();
            if (known != null) {
                gone.addAll(known.removed());
                added.addAll(known.added());
            } else {
                difference(before.elements(ref), after.elements(ref), gone, added);
            }
            count += gone.size() + added.size();
            if (count > MAX_ELEMENTS) {
                return null;
            }
            split(deletes, false, set, gone);
            split(adds, true, set, added);
        }
        deletes.addAll(adds);
        return deletes;
    }

    /** The declaration of {@code ref} in {@code plan}, or null (as {@link Plan#set}, without a ref per set). */
    private static NamedSet declared(Plan plan, SetRef ref) {
        for (NamedSet s : plan.sets()) {
            if (s.family() == ref.family() && s.name().equals(ref.name())) {
                return s;
            }
        }
        return null;
    }

    private void split(List<SetElementBatch.Change> out, boolean add, NamedSet set, List<SetElement> els) {
        for (int i = 0; i < els.size(); i += PER_MESSAGE) {
            out.add(new SetElementBatch.Change(add, set.family(), names.table(set.family()), set.name(), set.type(),
                    els.subList(i, Math.min(els.size(), i + PER_MESSAGE))));
        }
    }

    /** One walk over two sets sorted alike: what only {@code was} holds, what only {@code is} holds. */
    static void difference(SortedSet<SetElement> was, SortedSet<SetElement> is, List<SetElement> gone,
            List<SetElement> added) {
        SortedMerge.walk(was, is, Comparator.<SetElement>naturalOrder(), (x, y) -> {
            if (y == null) {
                gone.add(x);
            } else if (x == null) {
                added.add(y);
            }
            return true;
        });
    }

    private static BackendException refused(String what, int errno) {
        String why = switch (errno) {
            case -1 -> "no answer for it";
            case 2 -> "ENOENT: no such element, set or table";
            case 17 -> "EEXIST";
            case 22 -> "EINVAL";
            case 1 -> "EPERM";
            default -> "errno " + errno;
        };
        return new BackendException("the kernel refused " + what + " (netlink), nothing changed", why);
    }

    @Override
    public void close() {
        transport.close();
    }
}
