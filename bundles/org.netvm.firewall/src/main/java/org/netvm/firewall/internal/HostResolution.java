package org.netvm.firewall.internal;

import java.io.IOException;
import java.net.UnknownHostException;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BiConsumer;
import org.netvm.dataplane.IpAddress;
import org.netvm.util.ProcessRunner;

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

    /**
     * The system resolver ({@code getaddrinfo}: {@code /etc/hosts}, then the nameservers of
     * {@code resolv.conf}), asked afresh for every lookup through {@code getent ahosts}. Not the JDK's
     * {@code InetAddress}: it keeps answers for 30 s (and failures for 10 s) whatever the DNS said, so a
     * re-resolution after the netvm's upstream nameservers changed would get the old addresses. The name
     * was checked by {@link RuleParser} (a host name: no option, no shell; argv only).
     */
    static Resolver uncached(ProcessRunner runner) {
        return name -> {
            if (name.isEmpty() || name.startsWith("-")) {
                throw new IllegalArgumentException("not a host name");
            }
            ProcessRunner.Result r = runner.run(List.of("getent", "ahosts", name), "");
            if (r.exitCode() == 2) {
                throw new UnknownHostException("not found");
            }
            if (!r.ok()) {
                throw new IOException("getent ahosts failed (exit " + r.exitCode() + "): " + r.stderr().strip());
            }
            return addresses(r.stdout());
        };
    }

    /** The addresses of {@code getent ahosts} output (first column; each once, in order; zone ids dropped). */
    static List<IpAddress> addresses(String ahosts) throws UnknownHostException {
        Set<IpAddress> out = new LinkedHashSet<>();
        for (String line : ahosts.split("\n")) {
            String[] cols = line.strip().split("\\s+");
            if (!cols[0].isEmpty()) {
                out.add(IpAddress.of(cols[0].replaceAll("%.*$", "")));
            }
        }
        if (out.isEmpty()) {
            throw new UnknownHostException("no address");
        }
        return List.copyOf(out);
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
