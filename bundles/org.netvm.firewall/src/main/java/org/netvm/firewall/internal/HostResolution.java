package org.netvm.firewall.internal;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BiConsumer;
import org.netvm.dataplane.IpAddress;

/**
 * Resolves the {@code dsthost} names of a rule set on a virtual thread of its own, with a timeout: never on
 * the reconciler thread.
 */
final class HostResolution {

    /** The seam for name resolution (blocking; called off the reconciler thread). */
    interface Resolver {
        List<IpAddress> resolve(String name) throws Exception;
    }

    private final Resolver resolver;
    private final long timeoutMillis;

    HostResolution(Resolver resolver, long timeoutMillis) {
        this.resolver = resolver;
        this.timeoutMillis = timeoutMillis;
    }

    /** The system resolver ({@code getaddrinfo}, through the JDK). */
    static List<IpAddress> system(String name) throws Exception {
        List<IpAddress> out = new ArrayList<>();
        for (InetAddress a : InetAddress.getAllByName(name)) {
            out.add(IpAddress.of(a.getHostAddress().replaceAll("%.*$", "")));
        }
        return out;
    }

    /**
     * Resolves every name of {@code rules}; then calls {@code done} (on any thread) with name → addresses
     * and null, or with null and why the set cannot be applied (a name that does not resolve, the timeout).
     */
    void start(GuestRules rules, BiConsumer<Map<String, List<IpAddress>>, String> done) {
        CompletableFuture.supplyAsync(() -> {
            Map<String, List<IpAddress>> out = new HashMap<>();
            for (String name : rules.hostnames()) {
                try {
                    out.put(name, resolver.resolve(name));
                } catch (Exception e) {
                    throw new IllegalStateException("dsthost " + RuleParser.quote(name) + " does not resolve: " + e);
                }
            }
            return out;
        }, r -> Thread.ofVirtual().name("netvm-firewall-resolve").start(r))
                .orTimeout(timeoutMillis, TimeUnit.MILLISECONDS)
                .whenComplete((map, error) -> {
                    Throwable cause = error != null && error.getCause() != null ? error.getCause() : error;
                    done.accept(error == null ? map : null, error == null ? null
                            : cause instanceof TimeoutException ? "dsthost resolution timed out"
                            : String.valueOf(cause.getMessage()));
                });
    }
}
