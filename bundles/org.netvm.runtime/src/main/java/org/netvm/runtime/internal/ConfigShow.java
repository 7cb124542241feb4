package org.netvm.runtime.internal;

import java.lang.reflect.Array;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import org.netvm.cli.config.Json;
import org.netvm.cli.config.Metatype;

/**
 * The text of {@code netvm config show}: every PID of the metatype, each attribute's effective value
 * and where it came from. Pure: the metatype, Config Admin's properties, the file's values as read at
 * start and the launcher's values in; text out.
 *
 * <ul>
 * <li>{@code default}: no configuration holds it; the component uses the metatype's default</li>
 * <li>{@code file}: as written in the configuration file at start</li>
 * <li>{@code launcher}: from a {@code netvm run} option (xenstore, control socket, netns, domid)</li>
 * <li>{@code runtime}: changed while the agent runs (e.g. {@code netvm backend use}); lasts until restart</li>
 * </ul>
 */
final class ConfigShow {

    private ConfigShow() {
    }

    static String render(Metatype metatype, Map<String, Map<String, Object>> configAdmin,
            Map<String, Map<String, Json.Value>> file, Map<String, Map<String, Object>> launcher) {
        StringBuilder b = new StringBuilder();
        for (Metatype.Pid pid : metatype.pids().values()) {
            Map<String, Object> cm = configAdmin.getOrDefault(pid.pid(), Map.of());
            Map<String, Json.Value> fromFile = file.getOrDefault(pid.pid(), Map.of());
            Map<String, Object> fromLauncher = launcher.getOrDefault(pid.pid(), Map.of());
            b.append(pid.pid()).append(cm.isEmpty() ? "   (no configuration: defaults)" : "").append('\n');
            for (Metatype.Attribute a : pid.attributes()) {
                String value;
                String source;
                if (!cm.containsKey(a.id())) {
                    value = String.join(", ", a.defaults());
                    source = "default";
                } else {
                    value = text(cm.get(a.id()));
                    if (fromLauncher.containsKey(a.id()) && text(fromLauncher.get(a.id())).equals(value)) {
                        source = "launcher";
                    } else if (fromFile.containsKey(a.id()) && text(fromFile.get(a.id())).equals(value)) {
                        source = "file";
                    } else {
                        source = "runtime";
                    }
                }
                b.append(String.format("  %-26s %-32s %s%n", a.id(), value.isEmpty() ? "\"\"" : value, source));
            }
            List<String> unknown = new ArrayList<>();
            for (String k : cm.keySet()) {
                if (pid.attribute(k) == null && !k.startsWith("service.") && !k.startsWith(":") && !k.startsWith("felix.")
                        && !k.startsWith("component.")) {
                    unknown.add(k);
                }
            }
            unknown.stream().sorted().forEach(k -> b.append(String.format("  %-26s %-32s %s%n", k, text(cm.get(k)),
                    "not in the metatype: ignored")));
        }
        return b.toString();
    }

    /** A value as one line of text: lists joined with ", ", so a file's value and Config Admin's compare. */
    static String text(Object v) {
        if (v == null) {
            return "";
        }
        if (v instanceof Json.Str s) {
            return s.value();
        }
        if (v instanceof Json.Num n) {
            return n.text();
        }
        if (v instanceof Json.Bool bool) {
            return Boolean.toString(bool.value());
        }
        if (v instanceof Json.Arr arr) {
            return arr.items().stream().map(ConfigShow::text).collect(Collectors.joining(", "));
        }
        if (v instanceof Collection<?> c) {
            return c.stream().map(ConfigShow::text).collect(Collectors.joining(", "));
        }
        if (v.getClass().isArray()) {
            List<String> parts = new ArrayList<>();
            for (int i = 0; i < Array.getLength(v); i++) {
                parts.add(text(Array.get(v, i)));
            }
            return String.join(", ", parts);
        }
        return v.toString();
    }
}
