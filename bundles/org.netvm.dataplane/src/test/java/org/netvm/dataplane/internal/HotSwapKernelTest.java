package org.netvm.dataplane.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
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
import org.netvm.testing.log.Loggers;
import org.netvm.testing.netns.Netns;
import org.osgi.service.log.Logger;

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

    static Netns router;
    static Netns guest;
    static Netns intruder;
    static Netns upstream;
    static PacketFilterBackend nft;
    static PacketFilterBackend ipt;

    @BeforeAll
    static void setUp() throws Exception {
        Netns.assumeUsable("nft", "iptables-nft-restore", "ipset", "bash", "timeout");
        router = Netns.create("dpswap-r");
        guest = router.peer("dpswap-g");
        intruder = router.peer("dpswap-i");
        upstream = router.peer("dpswap-u");
        router.veth("vif3.0", "10.137.0.1/24", guest, "eth0", "10.137.0.5/24");
        router.veth("vif4.0", "10.137.1.1/24", intruder, "eth0", "10.137.1.5/24");
        router.veth("uplink", "10.99.0.1/24", upstream, "eth0", "10.99.0.2/24");
        guest.route("default", "via", "10.137.0.1");
        intruder.route("default", "via", "10.137.1.1");
        upstream.route("10.137.0.0/16", "via", "10.99.0.1");
        router.ok("sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
        try {
            nft = backend("org.netvm.backend.nftables.internal", "NftablesBackend", "nft", router.name(), "netvm");
            ipt = backend("org.netvm.backend.iptables.internal", "IptablesBackend", router.name(), "NETVM-", "nft");
        } catch (ReflectiveOperationException | LinkageError e) {
            assumeTrue(false, "backend bundles not usable on the test class path: " + e);
        }
    }

    @AfterAll
    static void tearDown() {
        if (router != null) {
            router.close(); // and its peers
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
        Logger log = Loggers.formatting(logLines);
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
}
