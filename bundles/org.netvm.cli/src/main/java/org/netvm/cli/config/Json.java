package org.netvm.cli.config;

import java.util.ArrayList;
import java.util.List;

/**
 * A strict JSON reader that keeps the position of every value, for messages that point into the
 * file ({@code line:column}, both from 1). Accepts the comments the OSGi Configurator accepts
 * ({@code //} to the end of the line and {@code /* ... *}{@code /}); nothing else beyond RFC 8259.
 * Objects keep their members in file order, duplicates included (the checker reports them).
 */
public final class Json {

    /** Where a value starts, and its character range in the text (end exclusive). */
    public record Pos(int line, int column, int start, int end) {
        @Override
        public String toString() {
            return line + ":" + column;
        }
    }

    /** A parsed value. */
    public sealed interface Value permits Obj, Arr, Str, Num, Bool, Null {
        Pos pos();
    }

    /** One member of an object: its key (and where the key is) and its value. */
    public record Member(String key, Pos keyPos, Value value) {
    }

    public record Obj(List<Member> members, Pos pos) implements Value {
    }

    public record Arr(List<Value> items, Pos pos) implements Value {
    }

    public record Str(String value, Pos pos) implements Value {
    }

    /** A number as written; {@link #integral()} when it has no fraction or exponent. */
    public record Num(String text, Pos pos) implements Value {
        public boolean integral() {
            return text.matches("-?[0-9]+");
        }
    }

    public record Bool(boolean value, Pos pos) implements Value {
    }

    public record Null(Pos pos) implements Value {
    }

    /** Invalid JSON, with the position where reading stopped. */
    public static final class ParseException extends Exception {
        private final int line;
        private final int column;

        ParseException(int line, int column, String message) {
            super(message);
            this.line = line;
            this.column = column;
        }

        public int line() {
            return line;
        }

        public int column() {
            return column;
        }
    }

    private static final int MAX_DEPTH = 64;

    private final String s;
    private int i;
    private int line = 1;
    private int lineStart;

    private Json(String text) {
        this.s = text;
    }

    /** Parses one JSON document (a value, then only white space and comments). */
    public static Value parse(String text) throws ParseException {
        Json p = new Json(text);
        p.skip();
        Value v = p.value(0);
        p.skip();
        if (p.i < p.s.length()) {
            throw p.error("unexpected " + p.describe() + " after the end of the document");
        }
        return v;
    }

    private Value value(int depth) throws ParseException {
        if (depth > MAX_DEPTH) {
            throw error("nested deeper than " + MAX_DEPTH);
        }
        if (i >= s.length()) {
            throw error("unexpected end of file, expected a value");
        }
        char c = s.charAt(i);
        return switch (c) {
            case '{' -> object(depth);
            case '[' -> array(depth);
            case '"' -> {
                int l = line;
                int col = column();
                int start = i;
                String v = string();
                yield new Str(v, new Pos(l, col, start, i));
            }
            case 't' -> literal("true", new Bool(true, here(4)));
            case 'f' -> literal("false", new Bool(false, here(5)));
            case 'n' -> literal("null", new Null(here(4)));
            default -> {
                if (c == '-' || c >= '0' && c <= '9') {
                    yield number();
                }
                throw error("unexpected " + describe() + ", expected a value");
            }
        };
    }

    private Obj object(int depth) throws ParseException {
        Pos open = here(1);
        i++;
        List<Member> members = new ArrayList<>();
        skip();
        if (peek() == '}') {
            i++;
            return new Obj(members, new Pos(open.line(), open.column(), open.start(), i));
        }
        while (true) {
            skip();
            if (peek() != '"') {
                throw error("unexpected " + describe() + ", expected a member name in double quotes");
            }
            int l = line;
            int col = column();
            int start = i;
            String key = string();
            Pos keyPos = new Pos(l, col, start, i);
            skip();
            if (peek() != ':') {
                throw error("unexpected " + describe() + ", expected ':' after the member name");
            }
            i++;
            skip();
            members.add(new Member(key, keyPos, value(depth + 1)));
            skip();
            char c = peek();
            if (c == ',') {
                i++;
            } else if (c == '}') {
                i++;
                return new Obj(members, new Pos(open.line(), open.column(), open.start(), i));
            } else {
                throw error("unexpected " + describe() + ", expected ',' or '}'");
            }
        }
    }

    private Arr array(int depth) throws ParseException {
        Pos open = here(1);
        i++;
        List<Value> items = new ArrayList<>();
        skip();
        if (peek() == ']') {
            i++;
            return new Arr(items, new Pos(open.line(), open.column(), open.start(), i));
        }
        while (true) {
            skip();
            items.add(value(depth + 1));
            skip();
            char c = peek();
            if (c == ',') {
                i++;
            } else if (c == ']') {
                i++;
                return new Arr(items, new Pos(open.line(), open.column(), open.start(), i));
            } else {
                throw error("unexpected " + describe() + ", expected ',' or ']'");
            }
        }
    }

    private String string() throws ParseException {
        i++; // opening quote
        StringBuilder b = new StringBuilder();
        while (true) {
            if (i >= s.length()) {
                throw error("unexpected end of file in a string");
            }
            char c = s.charAt(i);
            if (c == '"') {
                i++;
                return b.toString();
            }
            if (c < 0x20) {
                throw error("control character in a string (write it as an escape)");
            }
            if (c != '\\') {
                b.append(c);
                i++;
                continue;
            }
            if (i + 1 >= s.length()) {
                throw error("unexpected end of file in a string");
            }
            char e = s.charAt(i + 1);
            i += 2;
            switch (e) {
                case '"', '\\', '/' -> b.append(e);
                case 'b' -> b.append('\b');
                case 'f' -> b.append('\f');
                case 'n' -> b.append('\n');
                case 'r' -> b.append('\r');
                case 't' -> b.append('\t');
                case 'u' -> {
                    if (i + 4 > s.length() || !s.substring(i, i + 4).matches("[0-9A-Fa-f]{4}")) {
                        i -= 2;
                        throw error("bad \\u escape in a string");
                    }
                    b.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                    i += 4;
                }
                default -> {
                    i -= 2;
                    throw error("bad escape '\\" + e + "' in a string");
                }
            }
        }
    }

    private Num number() throws ParseException {
        int l = line;
        int col = column();
        int start = i;
        if (peek() == '-') {
            i++;
        }
        if (peek() == '0') {
            i++;
        } else if (digits() == 0) {
            throw error("bad number");
        }
        if (peek() == '.') {
            i++;
            if (digits() == 0) {
                throw error("bad number: digits expected after '.'");
            }
        }
        if (peek() == 'e' || peek() == 'E') {
            i++;
            if (peek() == '+' || peek() == '-') {
                i++;
            }
            if (digits() == 0) {
                throw error("bad number: digits expected in the exponent");
            }
        }
        if (Character.isLetterOrDigit(peek())) {
            throw error("bad number");
        }
        return new Num(s.substring(start, i), new Pos(l, col, start, i));
    }

    private int digits() {
        int n = 0;
        while (i < s.length() && s.charAt(i) >= '0' && s.charAt(i) <= '9') {
            i++;
            n++;
        }
        return n;
    }

    private <V extends Value> V literal(String word, V v) throws ParseException {
        if (!s.startsWith(word, i) || i + word.length() < s.length() && Character.isLetterOrDigit(s.charAt(i + word.length()))) {
            throw error("unexpected " + describe() + ", expected a value");
        }
        i += word.length();
        return v;
    }

    /** Skips white space and comments. */
    private void skip() throws ParseException {
        while (i < s.length()) {
            char c = s.charAt(i);
            if (c == '\n') {
                i++;
                line++;
                lineStart = i;
            } else if (c == ' ' || c == '\t' || c == '\r') {
                i++;
            } else if (c == '/' && s.startsWith("//", i)) {
                while (i < s.length() && s.charAt(i) != '\n') {
                    i++;
                }
            } else if (c == '/' && s.startsWith("/*", i)) {
                int end = s.indexOf("*/", i + 2);
                if (end < 0) {
                    throw error("unterminated /* comment");
                }
                while (i < end + 2) {
                    if (s.charAt(i) == '\n') {
                        line++;
                        lineStart = i + 1;
                    }
                    i++;
                }
            } else {
                return;
            }
        }
    }

    private char peek() {
        return i < s.length() ? s.charAt(i) : '\0';
    }

    private int column() {
        return i - lineStart + 1;
    }

    private Pos here(int length) {
        return new Pos(line, column(), i, i + length);
    }

    private String describe() {
        if (i >= s.length()) {
            return "end of file";
        }
        char c = s.charAt(i);
        return c < 0x20 || c > 0x7e ? String.format("character U+%04X", (int) c) : "'" + c + "'";
    }

    private ParseException error(String message) {
        return new ParseException(line, column(), message);
    }
}
