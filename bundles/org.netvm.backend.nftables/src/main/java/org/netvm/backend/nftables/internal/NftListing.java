package org.netvm.backend.nftables.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses what {@code nft -n list table F T} prints into canonical texts: chain headers, rule lines
 * (counter values removed), set headers and elements. Unknown lines inside a set (flags, size, ...)
 * become part of the set header, so they show up as a difference instead of being ignored.
 */
final class NftListing {
    private static final Pattern TABLE = Pattern.compile("table (\\S+) (\\S+) \\{");
    private static final Pattern SPACES = Pattern.compile("\\s+");
    private static final Pattern COUNTER = Pattern.compile("counter packets \\d+ bytes \\d+");

    final Map<String, String> chains = new TreeMap<>();
    final Map<String, List<String>> rules = new TreeMap<>();
    final Map<String, String> sets = new TreeMap<>();
    final Map<String, SortedSet<String>> elements = new TreeMap<>();

    /** Adds the objects of one table listing, keyed {@code "<family> <table>/<name>"}. */
    void parse(String listing) {
        String tableSpec = null;
        String kind = null;
        String key = null;
        StringBuilder elementText = null;
        List<String> setHeader = new ArrayList<>();
        for (String raw : listing.split("\n")) {
            String line = raw.strip();
            if (line.isEmpty()) {
                continue;
            }
            if (elementText != null) {
                elementText.append(' ').append(line);
                if (line.endsWith("}")) {
                    addElements(key, elementText.toString());
                    elementText = null;
                }
                continue;
            }
            if (tableSpec == null) {
                Matcher m = TABLE.matcher(line);
                if (m.matches()) {
                    tableSpec = m.group(1) + " " + m.group(2);
                }
                continue;
            }
            if (kind == null) {
                if (line.equals("}")) {
                    tableSpec = null;
                } else if (line.startsWith("chain ") && line.endsWith(" {")) {
                    kind = "chain";
                    key = tableSpec + "/" + line.substring(6, line.length() - 2).strip();
                    chains.put(key, "");
                    rules.put(key, new ArrayList<>());
                } else if (line.startsWith("set ") && line.endsWith(" {")) {
                    kind = "set";
                    key = tableSpec + "/" + line.substring(4, line.length() - 2).strip();
                    setHeader = new ArrayList<>();
                    elements.put(key, new TreeSet<>());
                } else {
                    // maps, flowtables, objects: record them so that they count as drift
                    chains.put(tableSpec + "/?" + line, "unexpected object");
                }
                continue;
            }
            if (line.equals("}")) {
                if (kind.equals("set")) {
                    sets.put(key, String.join("; ", setHeader));
                }
                kind = null;
                continue;
            }
            if (kind.equals("chain")) {
                if (line.startsWith("type ") && rules.get(key).isEmpty() && chains.get(key).isEmpty()) {
                    chains.put(key, line);
                } else {
                    rules.get(key).add(COUNTER.matcher(line).replaceAll("counter"));
                }
            } else if (line.startsWith("elements = {")) {
                elementText = new StringBuilder(line.substring("elements = ".length()));
                if (line.endsWith("}")) {
                    addElements(key, elementText.toString());
                    elementText = null;
                }
            } else {
                setHeader.add(line);
            }
        }
    }

    /** Splits {@code { a, "x,y" . b }} at top-level commas outside quotes. */
    private void addElements(String key, String braced) {
        String body = braced.strip();
        body = body.substring(1, body.length() - 1);
        StringBuilder cur = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < body.length(); i++) {
            char c = body.charAt(i);
            if (c == '"') {
                quoted = !quoted;
            }
            if (c == ',' && !quoted) {
                addElement(key, cur);
                cur.setLength(0);
            } else {
                cur.append(c);
            }
        }
        addElement(key, cur);
    }

    private void addElement(String key, StringBuilder text) {
        String e = SPACES.matcher(text.toString().strip()).replaceAll(" ");
        if (!e.isEmpty()) {
            elements.get(key).add(e);
        }
    }
}
