package org.netvm.example.accounting.internal;

import java.util.Locale;

import org.netvm.vif.VifHook;

/** The one JSON object we write per event, built by hand (no JSON library needed for flat strings). */
final class Json {

    private Json() {
    }

    /** {@code {"time":"...","action":"online","vif":"vif3.0","domid":3,"type":"vif","ipv4":"...","ipv6":null,"gateway":"..."}} */
    static String event(String time, VifHook.Event e) {
        return "{\"time\":" + string(time) + ",\"action\":" + string(e.action().name().toLowerCase(Locale.ROOT))
                + ",\"vif\":" + string(e.vif()) + ",\"domid\":" + e.domid() + ",\"type\":" + string(e.type())
                + ",\"ipv4\":" + string(e.ipv4()) + ",\"ipv6\":" + string(e.ipv6()) + ",\"gateway\":"
                + string(e.gateway()) + "}";
    }

    static String string(String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }
}
