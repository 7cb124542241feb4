package org.netvm.backend.nftables.internal;

import java.util.ArrayList;
import java.util.List;

/**
 * The user's rules in a {@link org.netvm.dataplane.Chain#userOwned user-owned} chain: every rule line of
 * {@code nft list table F T} in that chain that netvm did not write (netvm marks its own rules there with
 * {@value #MARK}). They are kept as nft printed them, counters included, so a full transaction that
 * re-creates the table puts them back with their counts.
 */
final class UserRules {
    /** Appended to every rule netvm writes into a user-owned chain. */
    static final String MARK = "comment \"netvm\"";

    private UserRules() {
    }

    /** Whether a rule line (as {@code nft list} prints it) is one netvm wrote. */
    static boolean isNetvms(String line) {
        return line.strip().endsWith(MARK);
    }

    /** The user's rule lines by chain name, in kernel order, of one {@code nft list table} output. */
    static java.util.Map<String, List<String>> parse(String listing) {
        java.util.Map<String, List<String>> out = new java.util.HashMap<>();
        List<String> chain = null;
        for (String raw : listing.split("\n")) {
            String line = raw.strip();
            if (line.startsWith("chain ") && line.endsWith(" {")) {
                chain = out.computeIfAbsent(line.substring(6, line.length() - 2).strip(), k -> new ArrayList<>());
            } else if (line.equals("}")) {
                chain = null;
            } else if (chain != null && !line.isEmpty() && !line.startsWith("type ") && !line.startsWith("comment ")
                    && !line.startsWith("policy ") && !isNetvms(line)) {
                chain.add(line);
            }
        }
        return out;
    }
}
