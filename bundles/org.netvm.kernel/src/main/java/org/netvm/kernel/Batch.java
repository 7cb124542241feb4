package org.netvm.kernel;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * An ordered list of kernel operations, applied by {@link Kernel#apply(Batch)} over one netlink
 * socket. A plain mutable builder (not thread-safe); {@link #render()} is its text form.
 *
 * <pre>{@code
 * new Batch()
 *     .setSysctl(Sysctl.proxyArp("vif3.0"), 1)
 *     .replaceNeighbour(Neighbour.permanent(guest, mac, "vif3.0"))
 *     .setLink("vif3.0", 2, true)
 *     .replaceRoute(Route.host(guest, "vif3.0").withMetric(32749))
 *     .replaceAddress(Address.of("vif3.0", IpPrefix.host(gateway)));
 * }</pre>
 */
public final class Batch {
    private final List<Op> ops = new ArrayList<>();

    public Batch add(Op op) {
        ops.add(Objects.requireNonNull(op, "op"));
        return this;
    }

    public Batch addAll(Batch other) {
        ops.addAll(other.ops);
        return this;
    }

    /** {@code ip link set dev <device> [up|down]}. */
    public Batch setLinkUp(String device, boolean up) {
        return add(new Op.LinkSet(device, -1, up ? Op.Admin.UP : Op.Admin.DOWN));
    }

    /** {@code ip link set dev <device> group <group>}. */
    public Batch setLinkGroup(String device, int group) {
        return add(new Op.LinkSet(device, group, Op.Admin.UNCHANGED));
    }

    /** {@code ip link set dev <device> group <group> up|down}, one message. */
    public Batch setLink(String device, int group, boolean up) {
        return add(new Op.LinkSet(device, group, up ? Op.Admin.UP : Op.Admin.DOWN));
    }

    public Batch replaceAddress(Address address) {
        return add(new Op.AddressReplace(address));
    }

    public Batch deleteAddress(Address address) {
        return add(new Op.AddressDelete(address));
    }

    public Batch replaceRoute(Route route) {
        return add(new Op.RouteReplace(route));
    }

    public Batch deleteRoute(Route route) {
        return add(new Op.RouteDelete(route));
    }

    public Batch replaceNeighbour(Neighbour neighbour) {
        return add(new Op.NeighbourReplace(neighbour));
    }

    public Batch deleteNeighbour(InetAddress address, String device) {
        return add(new Op.NeighbourDelete(new Neighbour(address, null, device, false)));
    }

    public Batch setSysctl(Sysctl key, int value) {
        return add(new Op.SysctlSet(key, value));
    }

    /** The operations, in order (unmodifiable view). */
    public List<Op> ops() {
        return Collections.unmodifiableList(ops);
    }

    public int size() {
        return ops.size();
    }

    public boolean isEmpty() {
        return ops.isEmpty();
    }

    /** One {@link Op#render()} line per operation, each ending in a newline. */
    public String render() {
        StringBuilder b = new StringBuilder();
        for (Op op : ops) {
            b.append(op.render()).append('\n');
        }
        return b.toString();
    }

    @Override
    public String toString() {
        return render();
    }
}
