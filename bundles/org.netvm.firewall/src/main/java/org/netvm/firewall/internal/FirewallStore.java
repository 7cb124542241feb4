package org.netvm.firewall.internal;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.netvm.dataplane.IpAddress;
import org.netvm.xenstore.XenStore;
import org.netvm.xenstore.XenStoreError;
import org.netvm.xenstore.XenStoreException;

/**
 * The firewall's side of xenstore (paths relative to the netvm's home): it reads rule sets, guests' vif
 * addresses and the on switch, and writes the handled counter and the addresses {@code dsthost} names
 * resolved to. Every value read is guest- or toolstack-controlled and only parsed strictly.
 */
final class FirewallStore {
    static final String RULES = "qubes-firewall";
    static final String SERVICE = "qubes-service/qubes-firewall";
    static final String VIFS = "backend/vif";
    static final String HANDLED = "qubes-firewall-handled";
    static final String RESOLVED = "qubes-firewall-dns";

    /**
     * A guest's rule set as read.
     *
     * @param rules     the parsed rules, or null if there are none or they do not parse
     * @param problem   why the guest is blocked ({@code rules} null), else null
     * @param signalled {@code qubes-firewall/<domid>} exists: the toolstack has written a set and waits for
     *                  the handled counter
     */
    record RuleSet(GuestRules rules, String problem, boolean signalled) {
        static final String NONE = "no rule set";
    }

    private final XenStore xs;

    FirewallStore(XenStore xs) {
        this.xs = xs;
    }

    /** Whether {@code qubes-service/qubes-firewall} is {@code 1}. */
    boolean serviceOn() throws XenStoreException {
        return "1".equals(xs.readIfExists(SERVICE).orElse(""));
    }

    /** The children of {@code path}; empty if it does not exist. */
    List<String> list(String path) throws XenStoreException {
        try {
            return xs.directory(path);
        } catch (XenStoreException e) {
            if (e.error() == XenStoreError.ENOENT) {
                return List.of();
            }
            throw e;
        }
    }

    /** The domain ids below {@code root} ({@link #RULES} or {@link #VIFS}); other names are ignored. */
    List<Integer> domains(String root) throws XenStoreException {
        List<Integer> out = new ArrayList<>();
        for (String d : list(root)) {
            Integer domid = domid(d);
            if (domid != null) {
                out.add(domid);
            }
        }
        return out;
    }

    /** Reads and parses {@code qubes-firewall/<domid>/*}. */
    RuleSet readRules(int domid) throws XenStoreException {
        String base = RULES + "/" + domid;
        List<String> names = list(base);
        boolean signalled = xs.readIfExists(base).isPresent();
        if (names.size() > RuleParser.MAX_RULES + 1) {
            return new RuleSet(null, "too many rules: " + (names.size() - 1) + " > " + RuleParser.MAX_RULES, signalled);
        }
        Map<String, String> entries = new HashMap<>();
        for (String n : names) {
            entries.put(n, xs.readIfExists(base + "/" + n).orElse(""));
        }
        if (entries.isEmpty()) {
            return new RuleSet(null, RuleSet.NONE, signalled);
        }
        try {
            return new RuleSet(RuleParser.parse(entries), null, signalled);
        } catch (RuleError e) {
            return new RuleSet(null, e.getMessage(), signalled);
        }
    }

    /** Every address of the guest's vifs ({@code backend/vif/<domid>/<devid>/ip}); bad ones are skipped. */
    List<IpAddress> addresses(int domid) throws XenStoreException {
        List<IpAddress> out = new ArrayList<>();
        for (String dev : list(VIFS + "/" + domid)) {
            String ips = xs.readIfExists(VIFS + "/" + domid + "/" + dev + "/ip").orElse("");
            for (String a : ips.trim().split("\\s+")) {
                try {
                    if (!a.isEmpty() && a.length() <= 45) {
                        out.add(IpAddress.of(a));
                    }
                } catch (IllegalArgumentException e) {
                    // the vif bundle refuses such a vif; nothing to match here
                }
            }
        }
        return out;
    }

    /**
     * What the toolstack waits for: {@code qubes-firewall-dns/<domid>/NNNN} = the addresses of each
     * {@code dsthost} rule (old ones removed), then {@code qubes-firewall-handled/<domid>} + 1.
     */
    void writeHandled(int domid, GuestRules rules, Map<String, List<IpAddress>> resolved) throws XenStoreException {
        String key = HANDLED + "/" + domid;
        String old = xs.readIfExists(key).orElse("0");
        long n = old.matches("[0-9]{1,18}") ? Long.parseLong(old) : 0;
        if (xs.readIfExists(RESOLVED + "/" + domid).isPresent()) {
            xs.rm(RESOLVED + "/" + domid);
        }
        if (rules != null) {
            int i = 0;
            for (FirewallRule r : rules.rules()) {
                if (r.dsthost() != null) {
                    xs.write(String.format("%s/%d/%04d", RESOLVED, domid, i), String.join(" ",
                            resolved.getOrDefault(r.dsthost(), List.of()).stream().map(IpAddress::text).toList()));
                }
                i++;
            }
        }
        xs.write(key, Long.toString(n + 1));
    }

    /** A domain id path component ({@code 0}..{@code 99999}, no leading zero), or null. */
    static Integer domid(String component) {
        return component.matches("0|[1-9][0-9]{0,4}") ? Integer.valueOf(component) : null;
    }

    /** The components of {@code path} below {@code root} (relative or absolute), or an empty array. */
    static String[] relative(String path, String root) {
        int i = path.indexOf(root + "/");
        if (i < 0 || i > 0 && path.charAt(i - 1) != '/') {
            return new String[0];
        }
        return path.substring(i + root.length() + 1).split("/");
    }
}
