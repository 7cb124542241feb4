package org.netvm.backend.iptables.internal;

import java.util.List;
import java.util.Locale;
import org.netvm.dataplane.Hook;

/**
 * The iptables tables netvm may use, in the order {@code apply} commits them, with the built-in
 * chains each one has.
 */
enum IptTable {
    RAW(List.of(Hook.PREROUTING, Hook.OUTPUT)),
    MANGLE(List.of(Hook.PREROUTING, Hook.INPUT, Hook.FORWARD, Hook.OUTPUT, Hook.POSTROUTING)),
    NAT(List.of(Hook.PREROUTING, Hook.INPUT, Hook.OUTPUT, Hook.POSTROUTING)),
    FILTER(List.of(Hook.INPUT, Hook.FORWARD, Hook.OUTPUT));

    private final List<Hook> hooks;

    IptTable(List<Hook> hooks) {
        this.hooks = hooks;
    }

    /** {@code filter}, {@code nat}, ... */
    String keyword() {
        return name().toLowerCase(Locale.ROOT);
    }

    boolean has(Hook hook) {
        return hooks.contains(hook);
    }

    /** The built-in chain name for {@code hook}: {@code INPUT}, {@code PREROUTING}, ... */
    static String builtin(Hook hook) {
        return hook.name();
    }

    /** Whether {@code chain} is the name of a built-in chain of this table. */
    boolean isBuiltin(String chain) {
        return hooks.stream().anyMatch(h -> h.name().equals(chain));
    }

    static IptTable of(String keyword) {
        for (IptTable t : values()) {
            if (t.keyword().equals(keyword)) {
                return t;
            }
        }
        return null;
    }
}
