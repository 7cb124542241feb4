package org.netvm.vif.internal;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Objects;
import java.util.regex.Pattern;

import org.netvm.dataplane.IpAddress;
import org.netvm.kernel.IpPrefix;
import org.netvm.kernel.MacAddress;

/**
 * The validated desired state of one online vif: everything the reconciler programs for it.
 *
 * @param vif      name, domid, devid
 * @param ipv4     the guest's IPv4 address
 * @param ipv6     the guest's IPv6 address, {@code null} without one
 * @param mac      the guest's MAC
 * @param gateway  the netvm's IPv4 address put on the vif as /32
 * @param gateway6 the netvm's IPv6 address put on the vif as /128, or {@code null}: only with a guest IPv6 (the vif
 *                 of an IPv4-only guest has IPv6 disabled, as vif-route-qubes checks before it adds gateway6)
 */
record VifSpec(VifName vif, InetAddress ipv4, InetAddress ipv6, MacAddress mac, InetAddress gateway,
        InetAddress gateway6) {

    /** Longest {@code ip} value accepted (an IPv4 plus a full IPv6 literal fit easily). */
    static final int MAX_IP_VALUE = 64;

    /** A guest's MAC as the toolstack writes it (compiled once: every vif is validated in every pass). */
    private static final Pattern MAC = Pattern.compile("[0-9a-f]{2}(:[0-9a-f]{2}){5}");

    VifSpec {
        Objects.requireNonNull(vif, "vif");
        Objects.requireNonNull(ipv4, "ipv4");
        Objects.requireNonNull(mac, "mac");
        Objects.requireNonNull(gateway, "gateway");
    }

    String name() {
        return vif.name();
    }

    /** {@code 32752 - domid}: a newer domain (higher domid) wins. */
    int metric() {
        return VifName.MAX_DOMID - vif.domid();
    }

    /** The vif's input failed validation: the message says which value and why. */
    static final class InvalidVifException extends Exception {
        private static final long serialVersionUID = 1L;

        InvalidVifException(String message) {
            super(message);
        }
    }

    /**
     * Validates the raw (hostile) xenstore values of one vif as vif-route-qubes does, and more
     * strictly: nothing is trimmed or guessed.
     *
     * @param vif       the vif; its domid must be at most 32752
     * @param ip        {@code backend/vif/D/N/ip}: "IPv4" or "IPv4 IPv6"; {@code null} if absent
     * @param mac       {@code backend/vif/D/N/mac}, {@code null} if absent (a failure, as in vif-route-qubes)
     * @param gateway   {@code qubes-netvm-gateway}, {@code null} or empty if absent (a failure: a netvm
     *                  without a gateway cannot serve guests)
     * @param gateway6  {@code qubes-netvm-gateway6}, {@code null} or empty if absent
     */
    static VifSpec validate(VifName vif, String ip, String mac, String gateway, String gateway6)
            throws InvalidVifException {
        if (!vif.domidInRange()) {
            throw new InvalidVifException(vif + ": domid " + vif.domid() + " is above " + VifName.MAX_DOMID);
        }
        if (ip == null) {
            throw new InvalidVifException(vif + ": no ip in xenstore");
        }
        if (ip.length() > MAX_IP_VALUE) {
            throw new InvalidVifException(vif + ": ip value too long (" + ip.length() + " characters)");
        }
        String[] words = ip.split(" ", -1);
        if (words.length > 2) {
            throw new InvalidVifException(vif + ": ip must be \"IPv4\" or \"IPv4 IPv6\": " + quote(ip));
        }
        InetAddress v4 = unicast(vif, "ip", words[0], 4);
        InetAddress v6 = words.length == 2 ? unicast(vif, "ip", words[1], 6) : null;
        if (mac == null) {
            throw new InvalidVifException(vif + ": no mac in xenstore");
        }
        MacAddress m;
        String macText = mac;
        if (macText.length() != 17 || !MAC.matcher(macText).matches()) {
            throw new InvalidVifException(vif + ": mac must match ^[0-9a-f]{2}(:[0-9a-f]{2}){5}$: " + quote(macText));
        }
        m = MacAddress.parse(macText);
        if ((m.bytes()[0] & 1) != 0) {
            throw new InvalidVifException(vif + ": mac is a multicast address: " + macText);
        }
        if (macText.equals("00:00:00:00:00:00")) {
            throw new InvalidVifException(vif + ": mac is all zeros");
        }
        if (gateway == null || gateway.isEmpty()) {
            throw new InvalidVifException(vif + ": the netvm has no qubes-netvm-gateway: no guest is programmed"
                    + " without one");
        }
        InetAddress gw = unicast(vif, "qubes-netvm-gateway", gateway, 4);
        InetAddress gw6 = v6 == null || gateway6 == null || gateway6.isEmpty() ? null
                : unicast(vif, "qubes-netvm-gateway6", gateway6, 6);
        if (gw6 != null && gw6.isLinkLocalAddress()) {
            gw6 = null; // as vif-route-qubes: a link-local gateway6 is on every link already, not put on the vif
        }
        return new VifSpec(vif, v4, v6, m, gw, gw6);
    }

    /** A strictly parsed unicast address of IP version {@code version}. */
    private static InetAddress unicast(VifName vif, String key, String text, int version) throws InvalidVifException {
        IpAddress parsed;
        try {
            parsed = IpAddress.of(text);
        } catch (IllegalArgumentException e) {
            throw new InvalidVifException(vif + ": " + key + ": not an IPv" + version + " address: " + quote(text));
        }
        // IpAddress canonicalises; accept only the canonical spelling of IPv4 (no leading zeros etc.)
        if (parsed.version() != version || (version == 4 && !parsed.text().equals(text))) {
            throw new InvalidVifException(vif + ": " + key + ": not an IPv" + version + " address: " + quote(text));
        }
        InetAddress a;
        try {
            a = version == 4 ? InetAddress.getByAddress(parsed.bytes())
                    : Inet6Address.getByAddress(null, parsed.bytes(), -1);
        } catch (UnknownHostException e) {
            throw new InvalidVifException(vif + ": " + key + ": " + e.getMessage());
        }
        byte[] b = parsed.bytes();
        boolean mapped = version == 6 && isV4Mapped(b);
        if (a.isAnyLocalAddress() || a.isLoopbackAddress() || a.isMulticastAddress() || mapped
                || (a instanceof Inet4Address && ((b[0] & 0xff) == 255 && (b[1] & 0xff) == 255 && (b[2] & 0xff) == 255
                        && (b[3] & 0xff) == 255))
                || (a instanceof Inet4Address && (b[0] & 0xff) == 0)) {
            throw new InvalidVifException(vif + ": " + key + ": not a unicast address: " + quote(text));
        }
        if (a instanceof Inet4Address && (b[0] & 0xf0) == 0xf0) {
            throw new InvalidVifException(vif + ": " + key + ": class E (240.0.0.0/4) is not a usable address: " + quote(text));
        }
        if (a.isLinkLocalAddress() && a instanceof Inet6Address && !key.equals("qubes-netvm-gateway6")) {
            throw new InvalidVifException(vif + ": " + key + ": link-local (fe80::/10) is not a guest address: " + quote(text));
        }
        return a;
    }

    private static boolean isV4Mapped(byte[] b) {
        for (int i = 0; i < 10; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return (b[10] & 0xff) == 0xff && (b[11] & 0xff) == 0xff;
    }

    /** A value for a log or error line: printable ASCII, at most 64 characters, in quotes. */
    static String quote(String s) {
        if (s == null) {
            return "(absent)";
        }
        StringBuilder b = new StringBuilder("\"");
        for (int i = 0; i < s.length() && i < 64; i++) {
            char c = s.charAt(i);
            b.append(c >= 0x20 && c < 0x7f && c != '"' && c != '\\' ? String.valueOf(c) : String.format("\\x%02x", (int) c & 0xff));
        }
        return b.append(s.length() > 64 ? "...\"" : "\"").toString();
    }

    /** Canonical text of an address as {@code ip} prints it. */
    static String text(InetAddress a) {
        return a == null ? null : IpPrefix.text(a);
    }
}
