package org.netvm.dns.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

import org.netvm.dataplane.IpAddress;

/**
 * Where queries to each virtual DNS address go: the mapping of {@code qubes-setup-dnat-to-ns}
 * (qubes-behaviour.md section 4).
 *
 * <p>The virtual addresses DNS1, DNS2 are paired with the usable upstreams ({@link Upstreams#usable})
 * cycled: two or more upstreams: DNS1 to the first, DNS2 to the second (extras ignored); one upstream:
 * both to it; none: both dropped (never passed on unmodified). Invalid virtual addresses
 * ({@link VirtualDns#valid()} false): both dropped. If DNS1 and DNS2 are the same address, only DNS1's
 * entry exists.
 *
 * @param entries one per virtual address, DNS1 first
 */
record DnsMapping(List<Entry> entries) {

    /**
     * One virtual address.
     *
     * @param virtual  the address guests query
     * @param upstream where its queries go, or null to drop them
     */
    record Entry(IpAddress virtual, IpAddress upstream) {
        Entry {
            Objects.requireNonNull(virtual, "virtual");
        }

        @Override
        public String toString() {
            return virtual + " -> " + (upstream == null ? "drop" : upstream.text());
        }
    }

    DnsMapping {
        entries = List.copyOf(entries);
    }

    static DnsMapping of(VirtualDns virtual, List<IpAddress> usableUpstreams) {
        List<IpAddress> virtuals = virtual.primary().equals(virtual.secondary()) ? List.of(virtual.primary())
                : List.of(virtual.primary(), virtual.secondary());
        List<Entry> out = new ArrayList<>();
        for (int i = 0; i < virtuals.size(); i++) {
            IpAddress up = !virtual.valid() || usableUpstreams.isEmpty() ? null
                    : usableUpstreams.get(i % usableUpstreams.size());
            out.add(new Entry(virtuals.get(i), up));
        }
        return new DnsMapping(out);
    }

    /** Whether every query is dropped. */
    boolean dropsAll() {
        return entries.stream().allMatch(e -> e.upstream() == null);
    }

    @Override
    public String toString() {
        return entries.toString();
    }
}
