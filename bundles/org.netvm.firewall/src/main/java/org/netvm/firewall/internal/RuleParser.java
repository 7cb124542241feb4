package org.netvm.firewall.internal;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.netvm.dataplane.IpPrefix;

/**
 * Strict parser of Qubes' rule text, as the toolstack writes it under {@code qubes-firewall/<domid>/}:
 * {@code policy} = {@code accept|drop}, {@code NNNN} = {@code key=value} pairs separated by single spaces.
 * Everything is guest-influenced text: unknown keys, repeated keys, values that do not parse, overlong
 * values, too many rules, and combinations Qubes refuses all throw {@link RuleError} with the reason, so
 * the caller blocks that guest. Pure: no lookups, no I/O (a {@code dsthost} name is only checked for
 * syntax here).
 */
final class RuleParser {
    /** More rules than this for one guest is an error (Qubes' own GUI stops far below). */
    static final int MAX_RULES = 1000;
    /** Longest rule text (the longest valid rule is about 180 characters). */
    static final int MAX_RULE_LENGTH = 512;

    private static final Pattern RULE_KEY = Pattern.compile("[0-9]{4}");
    private static final Pattern DIGITS = Pattern.compile("[0-9]{1,5}");
    private static final Pattern V4 = Pattern.compile("[0-9]{1,3}(\\.[0-9]{1,3}){3}(/[0-9]{1,2})?");
    private static final Pattern V6 = Pattern.compile("[0-9A-Fa-f:.]{2,45}(/[0-9]{1,3})?");
    private static final Pattern HOST = Pattern.compile(
            "(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\\.?");
    private static final Pattern EXPIRE = Pattern.compile("[0-9]{1,12}");

    private RuleParser() {
    }

    /**
     * Parses a guest's entries (names relative to {@code qubes-firewall/<domid>/}, values as read).
     *
     * @throws RuleError if anything is wrong; the message says what, quoting at most a short prefix
     */
    static GuestRules parse(Map<String, String> entries) throws RuleError {
        TreeMap<String, String> sorted = new TreeMap<>(entries);
        String policy = sorted.remove("policy");
        if (policy == null) {
            throw new RuleError("no policy");
        }
        if (!policy.equals("accept") && !policy.equals("drop")) {
            throw new RuleError("policy must be accept or drop, not " + quote(policy));
        }
        if (sorted.size() > MAX_RULES) {
            throw new RuleError("too many rules: " + sorted.size() + " > " + MAX_RULES);
        }
        List<FirewallRule> rules = new ArrayList<>();
        for (Map.Entry<String, String> e : sorted.entrySet()) {
            if (!RULE_KEY.matcher(e.getKey()).matches()) {
                throw new RuleError("unexpected entry " + quote(e.getKey()) + " (rules are NNNN)");
            }
            try {
                rules.add(rule(e.getValue()));
            } catch (RuleError | IllegalArgumentException x) {
                throw new RuleError("rule " + e.getKey() + ": " + x.getMessage());
            }
        }
        return new GuestRules(rules, policy.equals("accept"));
    }

    /** One rule's text. */
    static FirewallRule rule(String text) throws RuleError {
        if (text.length() > MAX_RULE_LENGTH) {
            throw new RuleError("longer than " + MAX_RULE_LENGTH + " characters");
        }
        Map<String, String> kv = new HashMap<>();
        for (String pair : text.split(" ", -1)) {
            int eq = pair.indexOf('=');
            if (eq <= 0) {
                throw new RuleError("not key=value: " + quote(pair));
            }
            String key = pair.substring(0, eq);
            if (kv.put(key, pair.substring(eq + 1)) != null) {
                throw new RuleError("key " + quote(key) + " given twice");
            }
        }
        return build(kv);
    }

    private static FirewallRule build(Map<String, String> kv) throws RuleError {
        String action = take(kv, "action");
        if (action == null || !action.equals("accept") && !action.equals("drop")) {
            throw new RuleError("action must be accept or drop, not " + quote(action));
        }
        FirewallRule.Proto proto = proto(take(kv, "proto"));
        IpPrefix dst4 = prefix(take(kv, "dst4"), V4, 4);
        IpPrefix dst6 = prefix(take(kv, "dst6"), V6, 6);
        String host = take(kv, "dsthost");
        if (host != null && !HOST.matcher(host).matches()) {
            throw new RuleError("dsthost is not a host name: " + quote(host));
        }
        if ((dst4 != null ? 1 : 0) + (dst6 != null ? 1 : 0) + (host != null ? 1 : 0) > 1) {
            throw new RuleError("only one of dst4, dst6, dsthost");
        }
        int[] ports = ports(take(kv, "dstports"));
        int icmp = icmpType(take(kv, "icmptype"));
        String special = take(kv, "specialtarget");
        if (special != null && !special.equals("dns")) {
            throw new RuleError("specialtarget must be dns, not " + quote(special));
        }
        String expire = take(kv, "expire");
        if (expire != null && !EXPIRE.matcher(expire).matches()) {
            throw new RuleError("expire is not a unix time: " + quote(expire));
        }
        if (!kv.isEmpty()) {
            throw new RuleError("unknown key " + quote(new TreeMap<>(kv).firstKey()));
        }
        if (ports != null && proto == FirewallRule.Proto.ICMP) {
            throw new RuleError("dstports with proto=icmp");
        }
        if (icmp >= 0 && proto != FirewallRule.Proto.ICMP) {
            throw new RuleError("icmptype needs proto=icmp");
        }
        return new FirewallRule(action.equals("accept"), proto, dst4 != null ? dst4 : dst6, host,
                ports == null ? 0 : ports[0], ports == null ? 0 : ports[1], icmp, special != null,
                expire == null ? 0 : Long.parseLong(expire));
    }

    private static String take(Map<String, String> kv, String key) throws RuleError {
        String v = kv.remove(key);
        if (v != null && v.isEmpty()) {
            throw new RuleError(key + " is empty");
        }
        return v;
    }

    private static FirewallRule.Proto proto(String v) throws RuleError {
        if (v == null) {
            return null;
        }
        return switch (v) {
            case "tcp" -> FirewallRule.Proto.TCP;
            case "udp" -> FirewallRule.Proto.UDP;
            case "icmp" -> FirewallRule.Proto.ICMP;
            default -> throw new RuleError("proto must be tcp, udp or icmp, not " + quote(v));
        };
    }

    private static IpPrefix prefix(String v, Pattern syntax, int version) throws RuleError {
        if (v == null) {
            return null;
        }
        if (!syntax.matcher(v).matches()) {
            throw new RuleError("dst" + version + " is not an IPv" + version + " address[/len]: " + quote(v));
        }
        try {
            IpPrefix p = IpPrefix.parse(v);
            if (p.address().version() != version) {
                throw new RuleError("dst" + version + " is not an IPv" + version + " address: " + quote(v));
            }
            return p;
        } catch (IllegalArgumentException e) {
            throw new RuleError("dst" + version + " " + quote(v) + ": " + e.getMessage());
        }
    }

    private static int[] ports(String v) throws RuleError {
        if (v == null) {
            return null;
        }
        int dash = v.indexOf('-');
        String a = dash < 0 ? v : v.substring(0, dash);
        String b = dash < 0 ? v : v.substring(dash + 1);
        if (!DIGITS.matcher(a).matches() || !DIGITS.matcher(b).matches()) {
            throw new RuleError("dstports must be N or N-M: " + quote(v));
        }
        int first = Integer.parseInt(a);
        int last = Integer.parseInt(b);
        if (first < 1 || last > 65535 || last < first) {
            throw new RuleError("dstports out of range 1..65535 or empty: " + quote(v));
        }
        return new int[] {first, last};
    }

    private static int icmpType(String v) throws RuleError {
        if (v == null) {
            return -1;
        }
        if (!DIGITS.matcher(v).matches() || Integer.parseInt(v) > 255) {
            throw new RuleError("icmptype must be 0..255: " + quote(v));
        }
        return Integer.parseInt(v);
    }

    /** A short, printable rendering of guest text for messages and the log. */
    static String quote(String s) {
        if (s == null) {
            return "(none)";
        }
        StringBuilder b = new StringBuilder("\"");
        s.codePoints().limit(40).forEach(c -> b.append(c >= 0x20 && c < 0x7f && c != '"' && c != '\\'
                ? Character.toString(c) : String.format("\\u%04x", c)));
        return b.append(s.length() > 40 ? "...\"" : "\"").toString();
    }
}
