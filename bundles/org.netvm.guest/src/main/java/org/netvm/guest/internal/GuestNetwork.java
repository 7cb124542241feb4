package org.netvm.guest.internal;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

import org.netvm.kernel.IpPrefix;

/**
 * A guest's network settings as the toolstack passes them in xenstore (Qubes' keys, relative to the
 * guest's home), parsed strictly. Values come from another domain: every one is checked and a bad
 * one rejects the whole set, so nothing is half-applied.
 *
 * @param ip {@code qubes-ip}, required
 * @param prefixLength from {@code qubes-netmask} (contiguous mask), default 32
 * @param gateway {@code qubes-gateway}, required
 * @param dns1 {@code qubes-primary-dns}, the gateway when absent
 * @param dns2 {@code qubes-secondary-dns}, optional
 * @param ip6 {@code qubes-ip6}, optional
 * @param gateway6 {@code qubes-gateway6}, optional (only with ip6)
 * @param defaultRoute false when {@code qubes-service/disable-default-route} is {@code 1}
 * @param dnsServer false when {@code qubes-service/disable-dns-server} is {@code 1}
 */
public record GuestNetwork(Inet4Address ip, int prefixLength, Inet4Address gateway, Inet4Address dns1,
        Optional<Inet4Address> dns2, Optional<Inet6Address> ip6, Optional<Inet6Address> gateway6,
        boolean defaultRoute, boolean dnsServer) {

    /** Keys read, relative to the guest's home. */
    public static final List<String> KEYS = List.of("qubes-ip", "qubes-netmask", "qubes-gateway",
            "qubes-primary-dns", "qubes-secondary-dns", "qubes-ip6", "qubes-gateway6",
            "qubes-service/disable-default-route", "qubes-service/disable-dns-server");

    static final int MAX_VALUE = 64;
    private static final Pattern IPV4 = Pattern.compile("(0|[1-9][0-9]{0,2})(\\.(0|[1-9][0-9]{0,2})){3}");
    private static final Pattern IPV6 = Pattern.compile("[0-9a-fA-F:]{2,39}");

    /** Where values come from: a key relative to the home, empty when the node does not exist. */
    @FunctionalInterface
    public interface Source {
        Optional<String> get(String key);
    }

    /** Thrown for a bad value; the message names the key and says what is wrong. */
    public static final class InvalidSettings extends Exception {
        private static final long serialVersionUID = 1L;

        InvalidSettings(String message) {
            super(message);
        }
    }

    /**
     * The settings, empty when {@code qubes-ip} is absent (the guest is meant to be unconfigured).
     *
     * @throws InvalidSettings naming the first bad key
     */
    public static Optional<GuestNetwork> read(Source source) throws InvalidSettings {
        Optional<String> ipText = value(source, "qubes-ip");
        if (ipText.isEmpty()) {
            return Optional.empty();
        }
        Inet4Address ip = ipv4("qubes-ip", ipText.get());
        int prefix = 32;
        Optional<String> mask = value(source, "qubes-netmask");
        if (mask.isPresent()) {
            prefix = prefixOf(ipv4("qubes-netmask", mask.get()));
        }
        Optional<String> gw = value(source, "qubes-gateway");
        if (gw.isEmpty()) {
            throw new InvalidSettings("qubes-gateway is missing while qubes-ip is set");
        }
        Inet4Address gateway = ipv4("qubes-gateway", gw.get());
        Inet4Address dns1 = value(source, "qubes-primary-dns").isPresent()
                ? ipv4("qubes-primary-dns", value(source, "qubes-primary-dns").get()) : gateway;
        Optional<Inet4Address> dns2 = Optional.empty();
        Optional<String> dns2Text = value(source, "qubes-secondary-dns");
        if (dns2Text.isPresent()) {
            dns2 = Optional.of(ipv4("qubes-secondary-dns", dns2Text.get()));
        }
        Optional<Inet6Address> ip6 = Optional.empty();
        Optional<Inet6Address> gateway6 = Optional.empty();
        Optional<String> ip6Text = value(source, "qubes-ip6");
        if (ip6Text.isPresent()) {
            ip6 = Optional.of(ipv6("qubes-ip6", ip6Text.get()));
            Optional<String> gw6 = value(source, "qubes-gateway6");
            if (gw6.isPresent()) {
                gateway6 = Optional.of(ipv6("qubes-gateway6", gw6.get()));
            }
        }
        boolean defaultRoute = !serviceOn(source, "disable-default-route");
        boolean dnsServer = !serviceOn(source, "disable-dns-server");
        return Optional.of(new GuestNetwork(ip, prefix, gateway, dns1, dns2, ip6, gateway6, defaultRoute, dnsServer));
    }

    public IpPrefix address() {
        return new IpPrefix(ip, prefixLength);
    }

    /**
     * Whether {@code qubes-service/NAME} is on: as in Qubes, the toolstack writes {@code 1} for an
     * enabled service and {@code 0} for a disabled one; anything but {@code 1} is off.
     */
    static boolean serviceOn(Source source, String name) {
        return source.get("qubes-service/" + name).map(v -> v.equals("1")).orElse(false);
    }

    private static Optional<String> value(Source source, String key) throws InvalidSettings {
        Optional<String> v = source.get(key);
        if (v.isPresent() && v.get().length() > MAX_VALUE) {
            throw new InvalidSettings(key + " is longer than " + MAX_VALUE + " characters");
        }
        return v.filter(s -> !s.isEmpty());
    }

    static Inet4Address ipv4(String key, String text) throws InvalidSettings {
        if (!IPV4.matcher(text).matches()) {
            throw new InvalidSettings(key + " is not an IPv4 address: " + printable(text));
        }
        byte[] b = new byte[4];
        String[] parts = text.split("\\.");
        for (int i = 0; i < 4; i++) {
            int v = Integer.parseInt(parts[i]);
            if (v > 255) {
                throw new InvalidSettings(key + " is not an IPv4 address: " + printable(text));
            }
            b[i] = (byte) v;
        }
        try {
            return (Inet4Address) InetAddress.getByAddress(b);
        } catch (java.net.UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    static Inet6Address ipv6(String key, String text) throws InvalidSettings {
        if (!IPV6.matcher(text).matches() || !text.contains(":")) {
            throw new InvalidSettings(key + " is not an IPv6 address: " + printable(text));
        }
        try {
            InetAddress a = IpPrefix.parseAddress(text);
            if (a instanceof Inet6Address v6) {
                return v6;
            }
        } catch (IllegalArgumentException e) {
            // fall through
        }
        throw new InvalidSettings(key + " is not an IPv6 address: " + printable(text));
    }

    static int prefixOf(Inet4Address mask) throws InvalidSettings {
        int m = 0;
        for (byte b : mask.getAddress()) {
            m = (m << 8) | (b & 0xff);
        }
        int len = Integer.bitCount(m);
        if (m != (len == 0 ? 0 : -1 << (32 - len))) {
            throw new InvalidSettings("qubes-netmask is not a contiguous netmask: " + mask.getHostAddress());
        }
        return len;
    }

    /** The value as it may appear in a log line: control characters escaped, cut to 64. */
    static String printable(String s) {
        StringBuilder b = new StringBuilder("'");
        for (char c : s.substring(0, Math.min(s.length(), MAX_VALUE)).toCharArray()) {
            b.append(c < 0x20 || c == 0x7f ? String.format("\\x%02x", (int) c) : String.valueOf(c));
        }
        return b.append('\'').toString();
    }

    /** The nameserver lines of resolv.conf, in order. */
    public List<InetAddress> nameservers() {
        List<InetAddress> out = new ArrayList<>();
        if (dnsServer) {
            out.add(dns1);
            dns2.ifPresent(out::add);
        }
        return out;
    }
}
