package org.netvm.status.internal;

/**
 * Writes JSON by hand: objects, arrays, strings (escaped per RFC 8259), numbers, booleans, null.
 * The caller writes names and values in order; commas are placed here. Not validating: a caller
 * that opens must close.
 */
final class JsonWriter {

    private final StringBuilder out = new StringBuilder();
    private final String indentUnit;
    private int depth;
    private boolean first = true;   // no member written yet at this depth
    private boolean afterName;      // a name was written, its value comes next

    /** @param pretty two-space indentation and one member per line */
    JsonWriter(boolean pretty) {
        this.indentUnit = pretty ? "  " : null;
    }

    JsonWriter beginObject() {
        value();
        out.append('{');
        depth++;
        first = true;
        return this;
    }

    JsonWriter endObject() {
        return close('}');
    }

    JsonWriter beginArray() {
        value();
        out.append('[');
        depth++;
        first = true;
        return this;
    }

    JsonWriter endArray() {
        return close(']');
    }

    JsonWriter name(String name) {
        separator();
        string(name);
        out.append(indentUnit == null ? ":" : ": ");
        afterName = true;
        return this;
    }

    JsonWriter value(String s) {
        value();
        if (s == null) {
            out.append("null");
        } else {
            string(s);
        }
        return this;
    }

    JsonWriter value(long n) {
        value();
        out.append(n);
        return this;
    }

    /** A finite number; NaN and infinities (not JSON) are written as null. */
    JsonWriter value(double d) {
        value();
        out.append(Double.isFinite(d) ? Double.toString(d) : "null");
        return this;
    }

    JsonWriter value(boolean b) {
        value();
        out.append(b);
        return this;
    }

    JsonWriter nullValue() {
        value();
        out.append("null");
        return this;
    }

    /** Shorthands: a member with a value. */
    JsonWriter member(String name, String v) {
        return name(name).value(v);
    }

    JsonWriter member(String name, long v) {
        return name(name).value(v);
    }

    JsonWriter member(String name, double v) {
        return name(name).value(v);
    }

    JsonWriter member(String name, boolean v) {
        return name(name).value(v);
    }

    @Override
    public String toString() {
        return out.toString();
    }

    private void value() {
        if (afterName) {
            afterName = false;
        } else {
            separator();
        }
        first = false;
    }

    private void separator() {
        if (depth == 0) {
            return;
        }
        if (!first) {
            out.append(',');
        }
        first = false;
        newline();
    }

    private JsonWriter close(char c) {
        depth--;
        if (!first) {
            newline();
        }
        out.append(c);
        first = false;
        return this;
    }

    private void newline() {
        if (indentUnit != null) {
            out.append('\n').append(indentUnit.repeat(depth));
        }
    }

    private void string(String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    // control characters, and lone surrogates and U+2028/2029 for safe embedding
                    if (c < 0x20 || c == 0x2028 || c == 0x2029 || Character.isSurrogate(c)
                            && !(Character.isHighSurrogate(c) && i + 1 < s.length()
                                    && Character.isLowSurrogate(s.charAt(i + 1)))
                            && !(Character.isLowSurrogate(c) && i > 0 && Character.isHighSurrogate(s.charAt(i - 1)))) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }
}
