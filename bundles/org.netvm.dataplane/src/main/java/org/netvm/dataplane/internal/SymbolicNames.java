package org.netvm.dataplane.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.netvm.dataplane.Priority;

/**
 * What {@code netvm plan} shows by default: a backend's canonical line (numeric, as {@code nft -n list}
 * or {@code iptables-save} print it) with the numbers that have well-known names replaced by them:
 * conntrack states ({@code ct state 0x2,0x4} → {@code ct state established,related}), layer 4
 * protocols ({@code meta l4proto 17} → {@code udp}), ICMP and ICMPv6 types and codes (also iptables'
 * {@code --icmp-type 8}), reject codes ({@code reject with icmp 10} → {@code host-prohibited}) and
 * standard chain priorities ({@code hook input priority 0} → {@code filter}). Ports, addresses,
 * interface groups and every number without a name stay as they are; so does anything already
 * symbolic, so this works whatever form the read-back gives. Quoted text (interface names, comments)
 * is never touched.
 *
 * <p>Presentation only: the plan is compared in the canonical form ({@code OwnedState.diff}) and the
 * resulting lines are translated afterwards, so the names never change what differs.
 */
final class SymbolicNames {

    private static final Map<String, String> CT_STATES = Map.of("0x1", "invalid", "0x2", "established",
            "0x4", "related", "0x8", "new", "0x40", "untracked");

    private static final Map<String, String> PROTOCOLS = Map.ofEntries(Map.entry("1", "icmp"),
            Map.entry("2", "igmp"), Map.entry("6", "tcp"), Map.entry("17", "udp"), Map.entry("41", "ipv6"),
            Map.entry("47", "gre"), Map.entry("50", "esp"), Map.entry("51", "ah"), Map.entry("58", "ipv6-icmp"),
            Map.entry("132", "sctp"), Map.entry("136", "udplite"));

    /** ICMP types; nft and iptables use the same names. */
    private static final Map<String, String> ICMP_TYPES = Map.ofEntries(Map.entry("0", "echo-reply"),
            Map.entry("3", "destination-unreachable"), Map.entry("4", "source-quench"), Map.entry("5", "redirect"),
            Map.entry("8", "echo-request"), Map.entry("9", "router-advertisement"),
            Map.entry("10", "router-solicitation"), Map.entry("11", "time-exceeded"),
            Map.entry("12", "parameter-problem"), Map.entry("13", "timestamp-request"),
            Map.entry("14", "timestamp-reply"), Map.entry("17", "address-mask-request"),
            Map.entry("18", "address-mask-reply"));

    /** ICMP codes of destination-unreachable, as nft names them ({@code icmp code}, {@code reject with icmp}). */
    private static final Map<String, String> ICMP_CODES = Map.of("0", "net-unreachable", "1", "host-unreachable",
            "2", "prot-unreachable", "3", "port-unreachable", "4", "frag-needed", "9", "net-prohibited",
            "10", "host-prohibited", "13", "admin-prohibited");

    /** ICMPv6 types as nft names them. */
    private static final Map<String, String> ICMPV6_TYPES_NFT = Map.ofEntries(
            Map.entry("1", "destination-unreachable"), Map.entry("2", "packet-too-big"),
            Map.entry("3", "time-exceeded"), Map.entry("4", "parameter-problem"), Map.entry("128", "echo-request"),
            Map.entry("129", "echo-reply"), Map.entry("130", "mld-listener-query"),
            Map.entry("131", "mld-listener-report"), Map.entry("132", "mld-listener-done"),
            Map.entry("133", "nd-router-solicit"), Map.entry("134", "nd-router-advert"),
            Map.entry("135", "nd-neighbor-solicit"), Map.entry("136", "nd-neighbor-advert"),
            Map.entry("137", "nd-redirect"), Map.entry("143", "mld2-listener-report"));

    /** ICMPv6 types as ip6tables names them ({@code --icmpv6-type}). */
    private static final Map<String, String> ICMPV6_TYPES_IPT = Map.ofEntries(
            Map.entry("1", "destination-unreachable"), Map.entry("2", "packet-too-big"),
            Map.entry("3", "time-exceeded"), Map.entry("4", "parameter-problem"), Map.entry("128", "echo-request"),
            Map.entry("129", "echo-reply"), Map.entry("133", "router-solicitation"),
            Map.entry("134", "router-advertisement"), Map.entry("135", "neighbour-solicitation"),
            Map.entry("136", "neighbour-advertisement"), Map.entry("137", "redirect"));

    private static final Map<String, String> ICMPV6_CODES = Map.of("0", "no-route", "1", "admin-prohibited",
            "3", "addr-unreachable", "4", "port-unreachable", "5", "policy-fail", "6", "reject-route");

    private static final Map<String, String> ICMPX_CODES = Map.of("0", "no-route", "1", "port-unreachable",
            "2", "host-unreachable", "3", "admin-prohibited");

    /** Two words that announce a value, and the names of its numbers. */
    private static final Map<String, Map<String, String>> PAIRS = Map.ofEntries(
            Map.entry("ct state", CT_STATES), Map.entry("meta l4proto", PROTOCOLS),
            Map.entry("ip protocol", PROTOCOLS), Map.entry("ip6 nexthdr", PROTOCOLS),
            Map.entry("icmp type", ICMP_TYPES), Map.entry("icmp code", ICMP_CODES),
            Map.entry("icmpv6 type", ICMPV6_TYPES_NFT), Map.entry("icmpv6 code", ICMPV6_CODES));

    /** One word that announces a value (iptables-save). */
    private static final Map<String, Map<String, String>> SINGLES = Map.of("--icmp-type", ICMP_TYPES,
            "--icmpv6-type", ICMPV6_TYPES_IPT);

    /** {@code reject with <kind> [type] N}: the code's names by kind. */
    private static final Map<String, Map<String, String>> REJECT = Map.of("icmp", ICMP_CODES, "icmpv6", ICMPV6_CODES,
            "icmpx", ICMPX_CODES);

    private static final Set<String> OPERATORS = Set.of("!=", "==", "!");

    private SymbolicNames() {
    }

    /** {@code line} with the numbers that have names shown by their names. */
    static String line(String line) {
        Words w = Words.split(line);
        int i = 0;
        while (i < w.size()) {
            i = translateAt(w, i);
        }
        return w.join();
    }

    /** Translates the value announced at word {@code i}, if any; returns where to go on. */
    private static int translateAt(Words w, int i) {
        String one = w.get(i);
        if (i + 1 < w.size()) {
            Map<String, String> names = PAIRS.get(one + " " + w.get(i + 1));
            if (names != null) {
                return value(w, i + 2, names);
            }
            if (one.equals("reject") && w.get(i + 1).equals("with") && i + 2 < w.size()
                    && REJECT.containsKey(w.get(i + 2))) {
                int at = i + 3 < w.size() && w.get(i + 3).equals("type") ? i + 4 : i + 3;
                return value(w, at, REJECT.get(w.get(i + 2)));
            }
            if (one.equals("hook") && i + 3 < w.size() && w.get(i + 2).equals("priority")) {
                w.set(i + 3, mapCore(w.get(i + 3), n -> priority(w.get(i + 1), n)));
                return i + 4;
            }
        }
        Map<String, String> names = SINGLES.get(one);
        return names == null ? i + 1 : value(w, i + 1, names);
    }

    /**
     * Translates the value starting at word {@code i} (after an optional operator): one word (its
     * comma-separated parts each), words joined by {@code |}, or a {@code { a, b }} set.
     */
    private static int value(Words w, int i, Map<String, String> names) {
        if (i < w.size() && OPERATORS.contains(w.get(i))) {
            i++;
        }
        if (i >= w.size()) {
            return i;
        }
        if (w.get(i).equals("{")) {
            for (i++; i < w.size() && !w.get(i).equals("}"); i++) {
                w.set(i, parts(w.get(i), names));
            }
            return i + 1;
        }
        w.set(i, parts(w.get(i), names));
        while (i + 2 < w.size() && w.get(i + 1).equals("|")) {
            i += 2;
            w.set(i, parts(w.get(i), names));
        }
        return i + 1;
    }

    /** {@code 0x2,0x4}, {@code 0x1|0x8} or {@code 8,} (inside a set): each part between commas or bars by its name. */
    private static String parts(String word, Map<String, String> names) {
        StringBuilder out = new StringBuilder();
        for (String part : word.split("(?<=[,|])|(?=[,|])")) {
            out.append(part.equals(",") || part.equals("|") ? part : mapCore(part, n -> names.getOrDefault(n, n)));
        }
        return out.toString();
    }

    /** Applies {@code f} to {@code word} without a trailing {@code ;} (header) that it keeps. */
    private static String mapCore(String word, java.util.function.UnaryOperator<String> f) {
        String core = word.endsWith(";") ? word.substring(0, word.length() - 1) : word;
        return f.apply(core) + word.substring(core.length());
    }

    /** A standard priority's name where nft accepts it at {@code hook}; else the number. */
    private static String priority(String hook, String number) {
        int value;
        try {
            value = Integer.parseInt(number);
        } catch (NumberFormatException e) {
            return number; // already a name
        }
        if (value < -1000 || value > 1000) {
            return number;
        }
        String name = Priority.of(value).standardName();
        if (name == null || name.equals("dstnat") && !hook.equals("prerouting")
                || name.equals("srcnat") && !hook.equals("postrouting")) {
            return number;
        }
        return name;
    }

    /**
     * A line as words and the text between them, so that the line is rebuilt exactly. A word that
     * starts with a double quote runs to the closing quote: quoted text is one word, never a keyword
     * (it differs from every keyword by its quotes).
     */
    private static final class Words {
        private final List<String> words = new ArrayList<>();
        private final List<String> gaps = new ArrayList<>(); // gaps.get(i) comes before words.get(i)
        private String tail = "";

        static Words split(String line) {
            Words w = new Words();
            int i = 0;
            int n = line.length();
            while (true) {
                int start = i;
                while (i < n && blank(line.charAt(i))) {
                    i++;
                }
                if (i == n) {
                    w.tail = line.substring(start);
                    return w;
                }
                String gap = line.substring(start, i);
                int end = i;
                boolean quoted = false;
                while (end < n && (quoted || !blank(line.charAt(end)))) {
                    if (line.charAt(end) == '"') {
                        quoted = !quoted;
                    }
                    end++;
                }
                w.gaps.add(gap);
                w.words.add(line.substring(i, end));
                i = end;
            }
        }

        private static boolean blank(char c) {
            return c == ' ' || c == '\t';
        }

        int size() {
            return words.size();
        }

        String get(int i) {
            return words.get(i);
        }

        void set(int i, String word) {
            words.set(i, word);
        }

        String join() {
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < words.size(); i++) {
                b.append(gaps.get(i)).append(words.get(i));
            }
            return b.append(tail).toString();
        }
    }
}
