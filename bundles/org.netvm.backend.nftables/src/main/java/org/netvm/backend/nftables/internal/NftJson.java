package org.netvm.backend.nftables.internal;

import java.io.StringReader;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

import jakarta.json.Json;
import jakarta.json.JsonArray;
import jakarta.json.JsonNumber;
import jakarta.json.JsonException;
import jakarta.json.JsonObject;
import jakarta.json.JsonString;
import jakarta.json.JsonValue;
import jakarta.json.stream.JsonParser;

/**
 * Reads what {@code nft -j -n list table F T} prints (libnftables' JSON schema, which nft keeps stable
 * across versions, unlike its text) into the canonical texts {@link NftRenderer#expected} renders:
 * chain headers, rule lines (counter values removed), set headers and elements, keyed
 * {@code "<family> <table>/<name>"}.
 *
 * <p>Only the expressions netvm writes are turned into text; any other expression, attribute or object
 * becomes a text that names it ({@code ?{...}}), so it shows up as a difference instead of being
 * ignored. The user's rules in user-owned chains come out that way too; the backend leaves them out by
 * their missing {@link UserRules#MARK}.
 */
final class NftJson {
    private static final Set<String> CHAIN_KEYS = Set.of("family", "table", "name", "handle", "type", "hook", "prio",
            "policy");
    private static final Set<String> SET_KEYS = Set.of("family", "table", "name", "handle", "type", "elem");
    private static final Set<String> QUOTED_META = Set.of("iifname", "oifname");
    private static final Set<String> BARE_META = Set.of("iifname", "oifname", "iifgroup", "oifgroup");

    final Map<String, String> chains = new TreeMap<>();
    final Map<String, List<String>> rules = new TreeMap<>();
    final Map<String, String> sets = new TreeMap<>();
    final Map<String, SortedSet<String>> elements = new TreeMap<>();

    /** The {@code family name} of every table in a {@code list tables} answer. */
    static List<String[]> tables(String json) {
        List<String[]> out = new ArrayList<>();
        eachObject(json, o -> {
            if (o.containsKey("table")) {
                JsonObject t = o.getJsonObject("table");
                out.add(new String[] {t.getString("family", ""), t.getString("name", "")});
            }
        });
        return out;
    }

    /** Adds the objects of one {@code list table} answer. */
    void parse(String json) {
        eachObject(json, o -> {
            if (o.containsKey("chain")) {
                chain(o.getJsonObject("chain"));
            } else if (o.containsKey("set")) {
                set(o.getJsonObject("set"));
            } else if (o.containsKey("rule")) {
                rule(o.getJsonObject("rule"));
            } else if (!o.containsKey("table") && !o.containsKey("metainfo")) {
                // maps, flowtables, objects: recorded so that they count as drift
                String kind = o.keySet().iterator().next();
                JsonObject v = o.get(kind) instanceof JsonObject j ? j : JsonValue.EMPTY_JSON_OBJECT;
                chains.put(tableSpec(v) + "/?" + kind + " " + v.getString("name", ""), "unexpected object");
            }
        });
    }

    /**
     * Each object of the answer's {@code nftables} array, one at a time: the listing of 1 000 guests' rules
     * is megabytes of JSON, and a tree of all of it at once ran a 64 MB heap out of memory.
     */
    private static void eachObject(String json, java.util.function.Consumer<JsonObject> each) {
        try (JsonParser p = Json.createParser(new StringReader(json))) {
            if (!p.hasNext() || p.next() != JsonParser.Event.START_OBJECT) {
                throw new JsonException("not an nft JSON answer: no object");
            }
            while (p.hasNext()) {
                JsonParser.Event e = p.next();
                if (e == JsonParser.Event.KEY_NAME && p.getString().equals("nftables")) {
                    if (p.next() != JsonParser.Event.START_ARRAY) {
                        throw new JsonException("not an nft JSON answer: nftables is not an array");
                    }
                    while (p.next() == JsonParser.Event.START_OBJECT) {
                        each.accept(p.getObject());
                    }
                    return;
                } else if (e == JsonParser.Event.START_OBJECT) {
                    p.skipObject(); // another key's value (none in nft's answers today)
                } else if (e == JsonParser.Event.START_ARRAY) {
                    p.skipArray();
                }
            }
            throw new JsonException("not an nft JSON answer: no nftables array");
        }
    }

    private static String tableSpec(JsonObject o) {
        return o.getString("family", "?") + " " + o.getString("table", "?");
    }

    private static String key(JsonObject o) {
        return tableSpec(o) + "/" + o.getString("name", "?");
    }

    private void chain(JsonObject c) {
        String k = key(c);
        StringBuilder header = new StringBuilder();
        if (c.containsKey("type")) {
            header.append("type ").append(text(c.get("type"))).append(" hook ").append(text(c.get("hook")))
                    .append(" priority ").append(text(c.get("prio"))).append("; policy ")
                    .append(text(c.get("policy"))).append(';');
        }
        c.forEach((name, v) -> {
            if (!CHAIN_KEYS.contains(name)) {
                header.append(header.isEmpty() ? "" : " ").append("?").append(name).append(' ').append(v);
            }
        });
        chains.put(k, header.toString());
        rules.putIfAbsent(k, new ArrayList<>());
    }

    private void set(JsonObject s) {
        String k = key(s);
        JsonValue type = s.get("type");
        List<String> types = type instanceof JsonArray a ? a.stream().map(NftJson::text).toList() : List.of(text(type));
        List<String> header = new ArrayList<>(List.of("type " + String.join(" . ", types)));
        if (s.get("flags") instanceof JsonArray flags && flags.size() == 1 && "interval".equals(text(flags.get(0)))) {
            header.add("flags interval"); // the key sets' (the only flag netvm writes)
        }
        s.forEach((name, v) -> {
            if (!SET_KEYS.contains(name) && !(name.equals("flags") && header.contains("flags interval"))) {
                header.add("?" + name + " " + v);
            }
        });
        sets.put(k, String.join("; ", header));
        SortedSet<String> els = new TreeSet<>();
        if (s.get("elem") instanceof JsonArray a) {
            for (JsonValue e : a) {
                els.add(element(e, types));
            }
        }
        elements.put(k, els);
    }

    private static String element(JsonValue e, List<String> types) {
        if (e instanceof JsonObject o && o.containsKey("concat")) {
            List<String> parts = new ArrayList<>();
            JsonArray values = o.getJsonArray("concat");
            for (int i = 0; i < values.size(); i++) {
                String type = i < types.size() ? types.get(i) : "";
                parts.add(type.equals("ifname") ? quoted(values.get(i)) : value(values.get(i)));
            }
            return String.join(" . ", parts);
        }
        return types.equals(List.of("ifname")) ? quoted(e) : value(e);
    }

    private void rule(JsonObject r) {
        String k = tableSpec(r) + "/" + r.getString("chain", "?");
        List<String> parts = new ArrayList<>();
        JsonArray expr = r.getJsonArray("expr");
        if (expr != null) {
            for (JsonValue x : expr) {
                parts.add(statement(x));
            }
        }
        if (r.containsKey("comment")) {
            parts.add("comment " + quoted(r.get("comment")));
        }
        rules.computeIfAbsent(k, x -> new ArrayList<>()).add(String.join(" ", parts));
    }

    /** One statement of a rule, as {@code nft -n list} prints it. */
    private static String statement(JsonValue x) {
        if (!(x instanceof JsonObject o) || o.size() != 1) {
            return unknown(x);
        }
        String kind = o.keySet().iterator().next();
        JsonValue v = o.get(kind);
        JsonObject args = v instanceof JsonObject a ? a : JsonValue.EMPTY_JSON_OBJECT;
        return switch (kind) {
            case "match" -> match(args);
            case "counter" -> "counter";
            case "accept", "drop", "return", "continue" -> v == JsonValue.NULL ? kind : unknown(x);
            case "masquerade" -> v == JsonValue.NULL ? kind : unknown(x);
            case "jump", "goto" -> args.containsKey("target") && args.size() == 1
                    ? kind + " " + text(args.get("target")) : unknown(x);
            case "reject" -> reject(args);
            case "dnat" -> dnat(args, x);
            default -> unknown(x);
        };
    }

    private static String match(JsonObject m) {
        JsonValue left = m.get("left");
        String l = left(left);
        String op = m.getString("op", "==");
        String o = switch (op) {
            case "==", "in" -> " ";
            default -> " " + op + " ";
        };
        boolean ctState = left instanceof JsonObject lo && lo.get("ct") instanceof JsonObject ct
                && "state".equals(ct.getString("key", ""));
        boolean quote = left instanceof JsonObject lo && lo.get("meta") instanceof JsonObject meta
                && QUOTED_META.contains(meta.getString("key", ""));
        return l + o + right(m.get("right"), ctState, quote);
    }

    private static String left(JsonValue v) {
        if (v instanceof JsonObject o && o.size() == 1) {
            if (o.get("meta") instanceof JsonObject meta && meta.size() == 1) {
                String key = meta.getString("key", "?");
                return BARE_META.contains(key) ? key : "meta " + key;
            }
            if (o.get("payload") instanceof JsonObject p && p.size() == 2) {
                return text(p.get("protocol")) + " " + text(p.get("field"));
            }
            if (o.get("ct") instanceof JsonObject ct && ct.size() == 1) {
                return "ct " + text(ct.get("key"));
            }
            if (o.get("concat") instanceof JsonArray parts) {
                return String.join(" . ", parts.stream().map(NftJson::left).toList());
            }
        }
        return unknown(v);
    }

    private static String right(JsonValue v, boolean ctState, boolean quote) {
        if (ctState) {
            if (v instanceof JsonNumber n) {
                return "0x" + Long.toHexString(n.longValue());
            }
            if (v instanceof JsonArray a) {
                return String.join(",", a.stream().map(e -> right(e, true, false)).toList());
            }
            if (v instanceof JsonObject o && o.get("|") instanceof JsonArray a) {
                return String.join(" | ", a.stream().map(e -> right(e, true, false)).toList());
            }
            return unknown(v);
        }
        if (quote && v instanceof JsonString) {
            return quoted(v);
        }
        if (v instanceof JsonString s && s.getString().startsWith("@")) {
            return s.getString();
        }
        return value(v);
    }

    /** A value: a literal, a prefix or a range; anything else as {@code ?...}. */
    private static String value(JsonValue v) {
        if (v instanceof JsonString s) {
            return s.getString();
        }
        if (v instanceof JsonNumber n) {
            return n.toString();
        }
        if (v instanceof JsonObject o && o.size() == 1) {
            if (o.get("prefix") instanceof JsonObject p) {
                return text(p.get("addr")) + "/" + text(p.get("len"));
            }
            if (o.get("range") instanceof JsonArray r && r.size() == 2) {
                return value(r.get(0)) + "-" + value(r.get(1));
            }
        }
        return unknown(v);
    }

    private static String reject(JsonObject r) {
        String type = r.getString("type", "");
        String expr = r.containsKey("expr") ? text(r.get("expr")) : "";
        boolean portUnreachable = type.isEmpty() || type.equals("icmp") && expr.equals("3")
                || type.equals("icmpv6") && expr.equals("4") || type.equals("icmpx") && expr.equals("1");
        if (portUnreachable) {
            return "reject";
        }
        return "reject with " + type + (expr.isEmpty() ? "" : " " + expr);
    }

    private static String dnat(JsonObject d, JsonValue whole) {
        if (!d.containsKey("addr") || d.keySet().stream().anyMatch(k -> !Set.of("family", "addr", "port").contains(k))) {
            return unknown(whole);
        }
        String addr = text(d.get("addr"));
        String to = !d.containsKey("port") ? addr
                : (addr.contains(":") ? "[" + addr + "]" : addr) + ":" + text(d.get("port"));
        return "dnat " + (d.containsKey("family") ? text(d.get("family")) + " " : "") + "to " + to;
    }

    private static String quoted(JsonValue v) {
        return "\"" + text(v) + "\"";
    }

    private static String text(JsonValue v) {
        if (v instanceof JsonString s) {
            return s.getString();
        }
        return v == null ? "?" : v.toString();
    }

    private static String unknown(JsonValue v) {
        return "?" + v;
    }
}
