package org.netvm.dns.internal;

import java.util.Optional;

import org.netvm.dataplane.IpAddress;

/**
 * The virtual DNS1/DNS2 addresses guests send their queries to, from the netvm's own xenstore keys
 * {@value #PRIMARY_KEY} and {@value #SECONDARY_KEY}.
 *
 * <p>The values are hostile. A missing or empty key means the default. A present value must be exactly
 * an IPv4 unicast literal (no spaces, no newline, no leading zeros, not 0.0.0.0, 127/8, multicast or
 * 255.255.255.255); otherwise {@link #valid} is false and the DNS feature fails closed: it drops
 * queries to both virtual addresses (using the default in place of the bad value) instead of
 * translating them.
 *
 * @param primary   DNS1
 * @param secondary DNS2
 * @param valid     false if a key held a bad value
 * @param problem   what was wrong, or null
 */
record VirtualDns(IpAddress primary, IpAddress secondary, boolean valid, String problem) {
    static final String PRIMARY_KEY = "qubes-netvm-primary-dns";
    static final String SECONDARY_KEY = "qubes-netvm-secondary-dns";

    static VirtualDns defaults(IpAddress primary, IpAddress secondary) {
        return new VirtualDns(primary, secondary, true, null);
    }

    /** From the raw key values (empty: key missing). */
    static VirtualDns of(Optional<String> primaryValue, Optional<String> secondaryValue, IpAddress defaultPrimary,
            IpAddress defaultSecondary) {
        boolean primaryOk = parse(primaryValue).isPresent();
        boolean secondaryOk = parse(secondaryValue).isPresent();
        String problem = !primaryOk ? bad(PRIMARY_KEY, primaryValue) : !secondaryOk ? bad(SECONDARY_KEY, secondaryValue)
                : null;
        return new VirtualDns(parse(primaryValue).flatMap(x -> x).orElse(defaultPrimary),
                parse(secondaryValue).flatMap(x -> x).orElse(defaultSecondary), problem == null, problem);
    }

    private static String bad(String key, Optional<String> value) {
        return key + " is not an IPv4 unicast address: " + quote(value.orElse(""));
    }

    /** Empty if bad; present-empty if missing or empty (the default); else the address. */
    private static Optional<Optional<IpAddress>> parse(Optional<String> value) {
        if (value.isEmpty() || value.get().isEmpty()) {
            return Optional.of(Optional.empty());
        }
        String v = value.get();
        if (v.length() > 15) {
            return Optional.empty();
        }
        try {
            IpAddress a = IpAddress.of(v);
            return a.version() == 4 && Upstreams.usableIpv4(a.bytes()) ? Optional.of(Optional.of(a)) : Optional.empty();
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    private static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (int i = 0; i < s.length() && i < 40; i++) {
            char c = s.charAt(i);
            b.append(c >= 0x20 && c < 0x7f && c != '"' && c != '\\' ? String.valueOf(c) : String.format("\\u%04x", (int) c));
        }
        return b.append(s.length() > 40 ? "...\"" : "\"").toString();
    }
}
