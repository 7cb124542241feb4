package org.netvm.kernel;

import java.util.Objects;

/** An address with prefix on a device, e.g. {@code 10.137.0.1/32 dev vif3.0 scope global}. */
public record Address(String device, IpPrefix prefix, Scope scope) {
    public Address {
        Checks.device(device);
        Objects.requireNonNull(prefix, "prefix");
        Objects.requireNonNull(scope, "scope");
    }

    /** A global-scope address. */
    public static Address of(String device, IpPrefix prefix) {
        return new Address(device, prefix, Scope.UNIVERSE);
    }

    public Address withScope(Scope newScope) {
        return new Address(device, prefix, newScope);
    }

    /** {@code 10.137.0.1/32 dev vif3.0} (plus {@code scope S} unless global). */
    @Override
    public String toString() {
        return prefix + " dev " + device + (scope == Scope.UNIVERSE ? "" : " scope " + scope.text());
    }
}
