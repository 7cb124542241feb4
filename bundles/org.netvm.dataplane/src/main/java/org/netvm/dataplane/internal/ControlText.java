package org.netvm.dataplane.internal;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import org.netvm.control.ControlCommand;

/** Runs a {@link ControlCommand} for Gogo: returns its output, throws with its errors on failure. */
final class ControlText {

    private ControlText() {
    }

    static String run(ControlCommand command, List<String> args) {
        var out = new ByteArrayOutputStream();
        var err = new ByteArrayOutputStream();
        int rc;
        try (var o = new PrintStream(out, true, StandardCharsets.UTF_8);
                var e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            rc = command.run(args, o, e);
        }
        String text = out.toString(StandardCharsets.UTF_8) + err.toString(StandardCharsets.UTF_8);
        if (rc != 0) {
            throw new IllegalStateException(text.strip());
        }
        return text;
    }

    /** Quotes untrusted text for a message: printable ASCII kept, the rest escaped, at most 80 chars. */
    static String quote(String s) {
        return quote(s, 80);
    }

    /** Like {@link #quote(String)}, at most {@code max} chars. */
    static String quote(String s, int max) {
        StringBuilder b = new StringBuilder("\"");
        for (int i = 0; i < s.length() && i < max; i++) {
            char c = s.charAt(i);
            b.append(c >= 0x20 && c < 0x7f && c != '"' && c != '\\' ? String.valueOf(c)
                    : String.format("\\u%04x", (int) c));
        }
        return b.append(s.length() > max ? "...\"" : "\"").toString();
    }
}
