package org.netvm.kernel.internal;

import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;

import org.netvm.kernel.ConntrackEntry;
import org.netvm.kernel.ConntrackTable;
import org.netvm.kernel.KernelException;
import org.netvm.util.SocketCalls;

/**
 * {@link ConntrackTable} over one NETLINK_NETFILTER socket, opened on first use on the kernel seam's
 * {@link NamespaceThread} (so it lives in the seam's namespace) and used only there.
 */
final class NetlinkConntrack implements ConntrackTable {
    private static final String COUNT = "net/netfilter/nf_conntrack_count";

    private final NamespaceThread thread;
    private NetlinkExchange exchange; // namespace thread only

    NetlinkConntrack(NamespaceThread thread) {
        this.thread = thread;
    }

    @Override
    public List<ConntrackEntry> entries(Collection<InetAddress> addresses) throws KernelException {
        Set<InetAddress> wanted = Set.copyOf(addresses);
        return thread.call(() -> scan(wanted, e -> true).stream().map(Ctnetlink.Decoded::entry).toList());
    }

    @Override
    public int delete(Collection<InetAddress> addresses, Predicate<ConntrackEntry> which) throws KernelException {
        Set<InetAddress> wanted = Set.copyOf(addresses);
        return thread.call(() -> {
            int deleted = 0;
            int failure = 0;
            for (Ctnetlink.Decoded d : scan(wanted, which)) {
                int s = exchange.nextSeq();
                Ctnetlink.deleteRequest(exchange.socket.writer, d.key(), s);
                int err = exchange.acked(s);
                if (err == 0) {
                    deleted++;
                } else if (err != Errno.ENOENT) { // ENOENT: gone (or replaced) since the listing
                    failure = err;
                }
            }
            if (failure != 0) {
                throw Libc.failure("conntrack delete", failure);
            }
            return deleted;
        });
    }

    /** Lists the families {@code wanted} needs and keeps the entries involving them that {@code which} accepts. */
    private List<Ctnetlink.Decoded> scan(Set<InetAddress> wanted, Predicate<ConntrackEntry> which)
            throws KernelException {
        List<Ctnetlink.Decoded> out = new ArrayList<>();
        if (wanted.isEmpty() || count() == 0) {
            return out;
        }
        NetlinkExchange x = exchange();
        for (int family : new int[] {Nl.AF_INET, Nl.AF_INET6}) {
            boolean v6 = family == Nl.AF_INET6;
            if (wanted.stream().noneMatch(a -> (a instanceof Inet6Address) == v6)) {
                continue;
            }
            int before = out.size();
            x.dump("conntrack dump", s -> Ctnetlink.dumpRequest(x.socket.writer, family, s), (type, off, len) -> {
                if (type != Ctnetlink.ENTRY) {
                    return;
                }
                Ctnetlink.Decoded d = Ctnetlink.decode(x.socket.rbuf, off, len);
                if (d != null && involves(d.entry(), wanted) && which.test(d.entry())) {
                    out.add(d);
                }
            }, () -> out.subList(before, out.size()).clear());
        }
        return out;
    }

    /**
     * The number of entries in the namespace's table ({@code nf_conntrack_count}, per namespace; read on
     * the namespace thread, so it is the seam's namespace), -1 if unreadable. A listing walks every
     * bucket of the kernel's one conntrack hash, whatever the namespace holds (262 144 buckets here:
     * ~2 ms); an empty table needs no listing. An entry created after this read is as much a race as
     * one created after the listing passed its bucket.
     */
    private static long count() {
        try {
            return Long.parseLong(Files.readString(NetlinkKernel.PROC_SYS.resolve(COUNT)).trim());
        } catch (IOException | NumberFormatException e) {
            return -1; // list as before: the listing reports why it cannot be made
        }
    }

    private static boolean involves(ConntrackEntry e, Set<InetAddress> wanted) {
        return wanted.contains(e.original().source()) || wanted.contains(e.original().destination())
                || wanted.contains(e.reply().source()) || wanted.contains(e.reply().destination());
    }

    private NetlinkExchange exchange() throws KernelException {
        if (exchange == null) {
            exchange = new NetlinkExchange(NetlinkSocket.open(SocketCalls.NETLINK_NETFILTER, 0, NetlinkExchange.ACK_TIMEOUT_MILLIS,
                    4 * 1024 * 1024));
        }
        return exchange;
    }

    /** Closes the socket; runs where the calls ran (the kernel seam's close). */
    void closeSocket() {
        if (exchange != null) {
            exchange.socket.close();
        }
    }
}
