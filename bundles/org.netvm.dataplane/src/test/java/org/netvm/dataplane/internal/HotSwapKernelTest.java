package org.netvm.dataplane.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.netvm.dataplane.Chain;
import org.netvm.dataplane.ChainRef;
import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.Family;
import org.netvm.dataplane.Hook;
import org.netvm.dataplane.Match;
import org.netvm.dataplane.NamedSet;
import org.netvm.dataplane.OwnedState;
import org.netvm.dataplane.PacketFilterBackend;
import org.netvm.dataplane.Policy;
import org.netvm.dataplane.Priority;
import org.netvm.dataplane.Rule;
import org.netvm.dataplane.SetElement;
import org.netvm.dataplane.SetRef;
import org.netvm.dataplane.SetType;

/**
 * The real nftables and iptables backends, swapped 20 times by the reconciler while a guest opens
 * connections through the router namespace and an intruder (not in the anti-spoof set) tries to. Every
 * guest connection must get through and no intruder connection may, at any moment of any swap.
 *
 * <p>Topology, all in namespaces made here: guest (10.137.0.5) -- vif3.0 [router] vif4.0 -- intruder
 * (10.137.1.5); router uplink -- upstream (10.99.0.2, answers with a TCP reset). The router's forward
 * chain drops by default and accepts established flows and {@code iifname . saddr} in the allowed set.
 * Needs root, ip, nft, iptables-nft-restore, ipset, bash and timeout, and the backend bundles on the test
 * class path (built by reflection, so this module does not compile against their internals).
 */
class HotSwapKernelTest {

    static Ns router;
    static Ns guest;
    static Ns intruder;
    static Ns upstream;
    static PacketFilterBackend nft;
    static PacketFilterBackend ipt;

    @BeforeAll
    static void setUp() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root");
        for (String tool : List.of("ip", "nft", "iptables-nft-restore", "ipset", "bash", "timeout")) {
            assumeTrue(onPath(tool), "needs " + tool);
        }
        String tag = Integer.toHexString(ThreadLocalRandom.current().nextInt(1 << 20));
        router = new Ns("netvmtest-dpswap-r-" + tag);
        guest = new Ns("netvmtest-dpswap-g-" + tag);
        intruder = new Ns("netvmtest-dpswap-i-" + tag);
        upstream = new Ns("netvmtest-dpswap-u-" + tag);
        router.veth("vif3.0", "10.137.0.1/24", guest, "eth0", "10.137.0.5/24");
        router.veth("vif4.0", "10.137.1.1/24", intruder, "eth0", "10.137.1.5/24");
        router.veth("uplink", "10.99.0.1/24", upstream, "eth0", "10.99.0.2/24");
        guest.ok("ip", "route", "add", "default", "via", "10.137.0.1");
        intruder.ok("ip", "route", "add", "default", "via", "10.137.1.1");
        upstream.ok("ip", "route", "add", "10.137.0.0/16", "via", "10.99.0.1");
        router.ok("sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
        try {
            nft = backend("org.netvm.backend.nftables.internal", "NftablesBackend", "nft", router.name, "netvm");
            ipt = backend("org.netvm.backend.iptables.internal", "IptablesBackend", router.name, "NETVM-", "nft");
        } catch (ReflectiveOperationException | LinkageError e) {
            assumeTrue(false, "backend bundles not usable on the test class path: " + e);
        }
    }

    @AfterAll
    static void tearDown() {
        for (Ns ns : new Ns[] {router, guest, intruder, upstream}) {
            if (ns != null) {
                ns.close();
            }
        }
    }

    /** {@code new <pkg>.<type>(new SystemProcessRunner(30 s), args...)} */
    static PacketFilterBackend backend(String pkg, String type, String... args) throws ReflectiveOperationException {
        ClassLoader cl = HotSwapKernelTest.class.getClassLoader();
        Object runner = new org.netvm.util.SystemProcessRunner(Duration.ofSeconds(30));
        Class<?>[] params = new Class<?>[args.length + 1];
        params[0] = org.netvm.util.ProcessRunner.class;
        java.util.Arrays.fill(params, 1, params.length, String.class);
        Object[] values = new Object[args.length + 1];
        values[0] = runner;
        System.arraycopy(args, 0, values, 1, args.length);
        return (PacketFilterBackend) Class.forName(pkg + "." + type, true, cl).getConstructor(params)
                .newInstance(values);
    }

    static final ChainRef FORWARD = ChainRef.of(Family.INET, "forward");
    static final SetRef ALLOWED = SetRef.of(Family.INET, "allowed");

    static Contribution policy() {
        return Contribution.builder("policy")
                .chain(Chain.filter(Family.INET, "forward", Hook.FORWARD, Priority.FILTER, Policy.DROP))
                .set(NamedSet.of(Family.INET, "allowed", SetType.IFNAME_IPV4_ADDR))
                .rule(Rule.in(FORWARD).ct(Match.CtState.ESTABLISHED, Match.CtState.RELATED).accept())
                .rule(Rule.in(FORWARD).inSet(Match.SetKey.IIFNAME_SOURCE_ADDRESS, "allowed").accept())
                .build();
    }

    static Contribution guestContribution() {
        return Contribution.builder("vif/vif3.0").element(ALLOWED, SetElement.of("vif3.0", "10.137.0.5")).build();
    }

    @Test
    void twentySwapsUnderTrafficNeverLetTheGuestDownNorTheIntruderIn() throws Exception {
        List<String> logLines = Collections.synchronizedList(new ArrayList<>());
        Log log = new Log() {
            @Override
            public void info(String m) {
                logLines.add("INFO " + m);
            }

            @Override
            public void warn(String m) {
                logLines.add("WARN " + m);
            }

            @Override
            public void error(String m) {
                logLines.add("ERROR " + m);
            }
        };
        var r = new DataplaneReconciler(new Settings("nftables", 5, 2), Clock.SYSTEM,
                Runnable::run, log).start();
        try {
            r.bindBackend(nft, Map.of("service.id", 1L, "netvm.backend", "nftables"));
            r.bindBackend(ipt, Map.of("service.id", 2L, "netvm.backend", "iptables"));
            r.put(policy()).toCompletableFuture().get(30, TimeUnit.SECONDS);
            r.put(guestContribution()).toCompletableFuture().get(30, TimeUnit.SECONDS);
            assertTrue(guest.tcpAnswered("10.99.0.2", 9, 2), "the guest gets through: " + logLines);
            assertFalse(intruder.tcpAnswered("10.99.0.2", 9, 1), "the intruder is dropped");

            AtomicBoolean stop = new AtomicBoolean();
            AtomicInteger guestOk = new AtomicInteger();
            AtomicInteger guestLost = new AtomicInteger();
            AtomicInteger intruderTries = new AtomicInteger();
            AtomicInteger intruderIn = new AtomicInteger();
            Thread guestLoop = Thread.ofPlatform().start(() -> {
                while (!stop.get()) {
                    (guest.tcpAnswered("10.99.0.2", 9, 2) ? guestOk : guestLost).incrementAndGet();
                }
            });
            Thread intruderLoop = Thread.ofPlatform().start(() -> {
                while (!stop.get()) {
                    intruderTries.incrementAndGet();
                    if (intruder.tcpAnswered("10.99.0.2", 9, 0.3)) {
                        intruderIn.incrementAndGet();
                    }
                }
            });
            List<Long> swapMillis = new ArrayList<>();
            try {
                Thread.sleep(300);
                for (int i = 1; i <= 20; i++) {
                    String next = i % 2 == 1 ? "iptables" : "nftables";
                    PacketFilterBackend now = i % 2 == 1 ? ipt : nft;
                    PacketFilterBackend old = i % 2 == 1 ? nft : ipt;
                    long t0 = System.nanoTime();
                    var outcome = r.awaitBackend(next);
                    r.modified(new Settings(next, 5, 2));
                    String msg = outcome.get(60, TimeUnit.SECONDS);
                    swapMillis.add(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
                    assertEquals(next + " is in charge and in sync", msg);
                    assertEquals(next, r.status().activeBackend());
                    OwnedState want = now.expected(r.plan());
                    assertEquals(want, now.readBack(), "swap " + i + ": " + want.diff(now.readBack()));
                    assertTrue(old.readBack().isEmpty(), "swap " + i + ": the old backend was swept");
                    Thread.sleep(100);
                }
            } finally {
                stop.set(true);
                guestLoop.join();
                intruderLoop.join();
            }
            System.out.printf("hot swap under traffic: 20 swaps, %s ms each (min %d, max %d); guest %d ok / %d lost;"
                    + " intruder %d tries / %d in%n", swapMillis,
                    swapMillis.stream().mapToLong(Long::longValue).min().orElse(0),
                    swapMillis.stream().mapToLong(Long::longValue).max().orElse(0),
                    guestOk.get(), guestLost.get(), intruderTries.get(), intruderIn.get());
            logLines.stream().filter(l -> l.startsWith("INFO switched")).limit(4).forEach(System.out::println);
            assertEquals(0, guestLost.get(), "guest connections lost during swaps");
            assertEquals(0, intruderIn.get(), "intruder connections let through during swaps");
            assertTrue(guestOk.get() > 20 && intruderTries.get() > 5, "traffic actually ran");
            assertEquals(0, r.status().failures(), String.join("\n", logLines));

            r.remove("vif/vif3.0").toCompletableFuture().get(30, TimeUnit.SECONDS);
            assertFalse(guest.tcpAnswered("10.99.0.2", 9, 1), "without its element the guest is dropped");

            assertEquals(List.of("nftables: swept", "iptables: swept"),
                    r.cleanup().get(30, TimeUnit.SECONDS).stream().sorted(Collections.reverseOrder()).toList());
            assertTrue(nft.readBack().isEmpty() && ipt.readBack().isEmpty(), "cleanup leaves nothing");
        } finally {
            r.deactivate();
        }
    }

    static boolean onPath(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").split(":")) {
            if (Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return false;
    }

    /** A throwaway network namespace; {@link #close()} deletes it with everything inside. */
    static final class Ns {
        final String name;

        Ns(String name) throws IOException {
            this.name = name;
            run(List.of("ip", "netns", "add", name), true);
            ok("ip", "link", "set", "lo", "up");
        }

        void veth(String here, String hereAddress, Ns other, String there, String thereAddress) throws IOException {
            ok("ip", "link", "add", here, "type", "veth", "peer", "name", there, "netns", other.name);
            ok("ip", "address", "add", hereAddress, "dev", here);
            ok("ip", "link", "set", here, "up");
            other.ok("ip", "address", "add", thereAddress, "dev", there);
            other.ok("ip", "link", "set", there, "up");
        }

        void ok(String... argv) throws IOException {
            List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", name));
            full.addAll(List.of(argv));
            run(full, true);
        }

        /**
         * Whether a TCP connection attempt from here to address:port is answered (connected or refused)
         * within {@code seconds}; false when the SYN was dropped.
         */
        boolean tcpAnswered(String address, int port, double seconds) {
            try {
                String[] r = run(List.of("ip", "netns", "exec", name, "timeout", Double.toString(seconds), "bash",
                        "-c", "exec 3<>\"/dev/tcp/$0/$1\"", address, Integer.toString(port)), false);
                return r[0].equals("0") || r[1].contains("Connection refused");
            } catch (IOException e) {
                return false;
            }
        }

        void close() {
            try {
                run(List.of("ip", "netns", "delete", name), false);
            } catch (IOException e) {
                System.err.println("cannot delete namespace " + name + ": " + e.getMessage());
            }
        }

        /** Returns {exit code, stderr}. */
        static String[] run(List<String> argv, boolean check) throws IOException {
            Process p = new ProcessBuilder(argv).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            try {
                String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
                if (!p.waitFor(30, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    throw new IOException(argv + " timed out");
                }
                if (check && p.exitValue() != 0) {
                    throw new IOException(argv + " failed (" + p.exitValue() + "): " + err);
                }
                return new String[] {Integer.toString(p.exitValue()), err};
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted", e);
            }
        }
    }
}
