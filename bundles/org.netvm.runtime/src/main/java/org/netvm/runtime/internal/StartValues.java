package org.netvm.runtime.internal;

import java.util.Map;

import org.netvm.cli.config.Json;

/**
 * What the configuration held at start, by source, for {@code netvm config show}: the file's values
 * (recorded by {@link Boot}, an activator) and the launcher's (recorded by {@link RuntimeConfigurer}).
 * Static because the activator is not a component; written once at start, read by the command.
 */
final class StartValues {

    private static volatile Map<String, Map<String, Json.Value>> file = Map.of();
    private static volatile Map<String, Map<String, Object>> launcher = Map.of();

    private StartValues() {
    }

    static Map<String, Map<String, Json.Value>> file() {
        return file;
    }

    static void file(Map<String, Map<String, Json.Value>> values) {
        file = Map.copyOf(values);
    }

    static Map<String, Map<String, Object>> launcher() {
        return launcher;
    }

    static void launcher(Map<String, Map<String, Object>> values) {
        launcher = Map.copyOf(values);
    }
}
