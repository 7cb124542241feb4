package org.netvm.dataplane.internal;

import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/** The dataplane's configuration ({@link DataplaneConfig}), validated and clamped. */
record Settings(String backend, int resyncSeconds, int debounceMillis, Set<String> requiredOwners) {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");

    Settings {
        if (backend == null || !NAME.matcher(backend).matches()) {
            throw new IllegalArgumentException("backend name must match " + NAME + ": " + backend);
        }
        resyncSeconds = Math.clamp(resyncSeconds, 1, 5);
        debounceMillis = Math.clamp(debounceMillis, 0, 1000);
        requiredOwners = requiredOwners == null ? Set.of() : Set.copyOf(requiredOwners);
    }

    /** No required owner (tests and tools that contribute without a base policy). */
    Settings(String backend, int resyncSeconds, int debounceMillis) {
        this(backend, resyncSeconds, debounceMillis, Set.of());
    }

    static Settings of(DataplaneConfig c) {
        Set<String> required = new TreeSet<>();
        for (String o : c.requiredOwners() == null ? new String[0] : c.requiredOwners()) {
            if (o != null && !o.isBlank()) {
                required.add(o.strip());
            }
        }
        return new Settings(c.backend(), c.resyncSeconds(), c.debounceMillis(), required);
    }
}
