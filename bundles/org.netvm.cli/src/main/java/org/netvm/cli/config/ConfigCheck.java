package org.netvm.cli.config;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Checks a configuration file in the OSGi Configurator's JSON format ({@code /etc/netvm/netvm.json})
 * against the metatype of the shipped bundles: unknown PIDs, unknown keys (with a "did you mean"
 * for a close spelling), wrong types, values outside min/max or not among the options, duplicates,
 * invalid JSON. Every problem carries the JSON position it is about. Pure: text and metatype in,
 * problems out.
 */
public final class ConfigCheck {

    /** One problem at {@code line:column} of the file. */
    public record Problem(int line, int column, String message) {
        public String format(String file) {
            return file + ":" + line + ":" + column + ": " + message;
        }
    }

    /** What a check found: the problems and, per PID, the values written in the file. */
    public record Result(List<Problem> problems, Map<String, Map<String, Json.Value>> values) {
        public boolean ok() {
            return problems.isEmpty();
        }
    }

    private static final String META = ":configurator:";
    private static final Map<String, String[]> RANGE = Map.of(
            "Byte", range(Byte.MIN_VALUE, Byte.MAX_VALUE), "Short", range(Short.MIN_VALUE, Short.MAX_VALUE),
            "Integer", range(Integer.MIN_VALUE, Integer.MAX_VALUE), "Long", range(Long.MIN_VALUE, Long.MAX_VALUE));
    private static final Map<String, String> PRIMITIVE = Map.of("int", "Integer", "long", "Long", "boolean", "Boolean",
            "short", "Short", "byte", "Byte", "double", "Double", "float", "Float", "char", "Character");

    private final Metatype metatype;
    private final List<Problem> problems = new ArrayList<>();
    private final Map<String, Map<String, Json.Value>> values = new LinkedHashMap<>();

    private ConfigCheck(Metatype metatype) {
        this.metatype = metatype;
    }

    /** Checks {@code text}. */
    public static Result check(String text, Metatype metatype) {
        ConfigCheck c = new ConfigCheck(metatype);
        try {
            c.document(Json.parse(text));
        } catch (Json.ParseException e) {
            c.problems.add(new Problem(e.line(), e.column(), "invalid JSON: " + e.getMessage()));
        }
        return new Result(List.copyOf(c.problems), c.values);
    }

    private void document(Json.Value doc) {
        if (!(doc instanceof Json.Obj top)) {
            problem(doc.pos(), "the file must be one JSON object whose members are PIDs");
            return;
        }
        header(top);
        Map<String, Json.Pos> seen = new HashMap<>();
        for (Json.Member m : top.members()) {
            if (m.key().startsWith(META)) {
                continue;
            }
            Json.Pos before = seen.putIfAbsent(m.key(), m.keyPos());
            if (before != null) {
                problem(m.keyPos(), "duplicate PID " + quote(m.key()) + " (first at " + before + ")");
                continue;
            }
            String base = m.key().contains("~") ? m.key().substring(0, m.key().indexOf('~')) : m.key();
            Metatype.Pid pid = metatype.pids().get(base);
            if (pid == null) {
                problem(m.keyPos(), "unknown PID " + quote(base) + didYouMean(base, metatype.pids().keySet()));
            } else if (!(m.value() instanceof Json.Obj members)) {
                problem(m.value().pos(), pid.pid() + ": the value of a PID must be a JSON object");
            } else {
                values.put(m.key(), pidMembers(pid, members));
            }
        }
    }

    /**
     * The Configurator's own members: a file given as {@code configurator.initial} is ignored as a
     * whole ("Invalid JSON") without a symbolic name and a version; the resource version is 1.
     */
    private void header(Json.Obj top) {
        for (String required : new String[] {META + "symbolic-name", META + "version"}) {
            Json.Member m = top.members().stream().filter(x -> x.key().equals(required)).findFirst().orElse(null);
            if (m == null) {
                problem(top.pos(), "missing " + quote(required) + " (without it the Configurator ignores the whole file)");
            } else if (!(m.value() instanceof Json.Str s) || s.value().isBlank()) {
                problem(m.value().pos(), required + ": expected a non-empty string, found " + describe(m.value()));
            }
        }
        for (Json.Member m : top.members()) {
            if (m.key().equals(META + "resource-version")
                    && !(m.value() instanceof Json.Num n && n.text().equals("1"))) {
                problem(m.value().pos(), m.key() + ": expected 1, found " + describe(m.value()));
            }
        }
    }

    private Map<String, Json.Value> pidMembers(Metatype.Pid pid, Json.Obj obj) {
        Map<String, Json.Value> found = new LinkedHashMap<>();
        Map<String, Json.Pos> seen = new HashMap<>();
        for (Json.Member m : obj.members()) {
            if (m.key().startsWith(META)) {
                continue;
            }
            int colon = m.key().indexOf(':');
            String key = colon < 0 ? m.key() : m.key().substring(0, colon);
            String declared = colon < 0 ? null : m.key().substring(colon + 1);
            Json.Pos before = seen.putIfAbsent(key, m.keyPos());
            if (before != null) {
                problem(m.keyPos(), pid.pid() + ": duplicate key " + quote(key) + " (first at " + before + ")");
                continue;
            }
            Metatype.Attribute ad = pid.attribute(key);
            if (ad == null) {
                problem(m.keyPos(), pid.pid() + ": unknown key " + quote(key) + didYouMean(key,
                        pid.attributes().stream().map(Metatype.Attribute::id).toList()));
                continue;
            }
            if (declared != null && !declaredTypeFits(declared, ad)) {
                problem(m.keyPos(), pid.pid() + ": " + key + " is " + article(ad.type()) + (ad.cardinality() == 0 ? "" : " list")
                        + ", not declared as " + declared);
                continue;
            }
            if (attribute(pid, ad, m.value())) {
                found.put(key, m.value());
            }
        }
        return found;
    }

    /** Checks one value; false when it has a problem. */
    private boolean attribute(Metatype.Pid pid, Metatype.Attribute ad, Json.Value v) {
        String where = pid.pid() + ": " + ad.id() + ": ";
        if (v instanceof Json.Arr arr) {
            if (ad.cardinality() == 0) {
                problem(v.pos(), where + "expected one " + ad.type() + ", found a list");
                return false;
            }
            int max = Math.abs(ad.cardinality());
            if (arr.items().size() > max) {
                problem(v.pos(), where + "at most " + max + " values, found " + arr.items().size());
                return false;
            }
            boolean ok = true;
            for (Json.Value item : arr.items()) {
                ok &= scalar(where, ad, item);
            }
            return ok;
        }
        return scalar(where, ad, v);
    }

    private boolean scalar(String where, Metatype.Attribute ad, Json.Value v) {
        String type = ad.type();
        String text;
        switch (type) {
            case "String", "Char", "Character" -> {
                if (!(v instanceof Json.Str s) || type.startsWith("Char") && s.value().length() != 1) {
                    return wrongType(where, ad, v);
                }
                text = s.value();
            }
            case "Boolean" -> {
                if (!(v instanceof Json.Bool b)) {
                    return wrongType(where, ad, v);
                }
                text = Boolean.toString(b.value());
            }
            case "Integer", "Long", "Short", "Byte" -> {
                if (!(v instanceof Json.Num n) || !n.integral()) {
                    return wrongType(where, ad, v);
                }
                String[] r = RANGE.get(type);
                if (compareNumbers(n.text(), r[0]) < 0 || compareNumbers(n.text(), r[1]) > 0) {
                    problem(v.pos(), where + n.text() + " does not fit in " + article(type));
                    return false;
                }
                text = n.text();
            }
            case "Double", "Float" -> {
                if (!(v instanceof Json.Num n)) {
                    return wrongType(where, ad, v);
                }
                text = n.text();
            }
            default -> {
                return true; // a type this checker does not know (Password): not judged
            }
        }
        return bounds(where, ad, v, text);
    }

    private boolean bounds(String where, Metatype.Attribute ad, Json.Value v, String text) {
        String shown = v instanceof Json.Str ? quote(text) : text;
        if (!ad.options().isEmpty() && !ad.options().contains(text)) {
            problem(v.pos(), where + shown + " is not one of " + String.join(", ", ad.options()));
            return false;
        }
        if (v instanceof Json.Num) {
            if (!ad.min().isEmpty() && compareNumbers(text, ad.min()) < 0) {
                problem(v.pos(), where + text + " is below the minimum " + ad.min());
                return false;
            }
            if (!ad.max().isEmpty() && compareNumbers(text, ad.max()) > 0) {
                problem(v.pos(), where + text + " is above the maximum " + ad.max());
                return false;
            }
        }
        return true;
    }

    private boolean wrongType(String where, Metatype.Attribute ad, Json.Value v) {
        problem(v.pos(), where + "expected " + article(ad.type()) + ", found " + describe(v));
        return false;
    }

    private static boolean declaredTypeFits(String declared, Metatype.Attribute ad) {
        String t = declared.trim();
        boolean list = false;
        if (t.endsWith("[]")) {
            t = t.substring(0, t.length() - 2);
            list = true;
        } else if (t.startsWith("Collection<") && t.endsWith(">")) {
            t = t.substring(11, t.length() - 1);
            list = true;
        } else if (t.equals("Collection")) {
            return ad.cardinality() != 0;
        }
        t = PRIMITIVE.getOrDefault(t, t);
        String want = ad.type().equals("Char") ? "Character" : ad.type();
        return t.equals(want) && (!list || ad.cardinality() != 0);
    }

    private static String describe(Json.Value v) {
        return switch (v) {
            case Json.Str s -> "the string " + quote(s.value());
            case Json.Num n -> "the number " + n.text();
            case Json.Bool b -> b.value() ? "true" : "false";
            case Json.Null n -> "null";
            case Json.Obj o -> "an object";
            case Json.Arr a -> "a list";
        };
    }

    private static String article(String type) {
        String t = switch (type) {
            case "Integer" -> "integer";
            case "Long" -> "integer (Long)";
            case "Short" -> "integer (Short)";
            case "Byte" -> "integer (Byte)";
            case "Boolean" -> "boolean";
            case "String" -> "string";
            case "Double", "Float" -> "number";
            case "Char", "Character" -> "single character";
            default -> type;
        };
        return ("aeiou".indexOf(t.charAt(0)) >= 0 ? "an " : "a ") + t;
    }

    /** {@code " (did you mean "x"?)"} for the nearest candidate within a small edit distance, else "". */
    static String didYouMean(String word, Collection<String> candidates) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String c : candidates) {
            int d = c.equalsIgnoreCase(word) ? 0 : distance(word.toLowerCase(), c.toLowerCase());
            if (d < bestDistance) {
                best = c;
                bestDistance = d;
            }
        }
        int allowed = Math.max(1, Math.min(3, word.length() / 3));
        return best != null && bestDistance <= allowed ? " (did you mean " + quote(best) + "?)" : "";
    }

    /** Levenshtein distance, with a swap of two neighbours counted as one edit. */
    static int distance(String a, String b) {
        int[][] d = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++) {
            d[i][0] = i;
        }
        for (int j = 0; j <= b.length(); j++) {
            d[0][j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                    d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
                }
            }
        }
        return d[a.length()][b.length()];
    }

    static String quote(String s) {
        String t = s.length() > 80 ? s.substring(0, 80) + "..." : s;
        return "\"" + t.replace("\\", "\\\\").replace("\"", "\\\"").replaceAll("\\p{Cntrl}", "?") + "\"";
    }

    private static String[] range(long min, long max) {
        return new String[] {Long.toString(min), Long.toString(max)};
    }

    /**
     * Compares two numbers written in decimal: as longs when both are plain integers (the usual case,
     * and it keeps BigDecimal's class initialisation, ~10 ms of interpreted code, off the agent's
     * start, which runs this check), else as BigDecimals.
     */
    static int compareNumbers(String a, String b) {
        Long x = plainLong(a);
        Long y = x == null ? null : plainLong(b);
        if (x != null && y != null) {
            return Long.compare(x, y);
        }
        return new BigDecimal(a).compareTo(new BigDecimal(b));
    }

    private static Long plainLong(String s) {
        int start = s.startsWith("-") ? 1 : 0;
        if (s.length() == start || s.length() - start > 19) {
            return null;
        }
        for (int i = start; i < s.length(); i++) {
            if (s.charAt(i) < '0' || s.charAt(i) > '9') {
                return null;
            }
        }
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            return null; // beyond a long
        }
    }

    private void problem(Json.Pos pos, String message) {
        problems.add(new Problem(pos.line(), pos.column(), message));
    }
}
