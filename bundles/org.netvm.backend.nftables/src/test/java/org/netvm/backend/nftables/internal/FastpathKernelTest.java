package org.netvm.backend.nftables.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.netvm.dataplane.BackendException;
import org.netvm.dataplane.Chain;
import org.netvm.dataplane.ChainRef;
import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.Family;
import org.netvm.dataplane.Hook;
import org.netvm.dataplane.Match;
import org.netvm.dataplane.NamedSet;
import org.netvm.dataplane.Plan;
import org.netvm.dataplane.Policy;
import org.netvm.dataplane.Priority;
import org.netvm.dataplane.Rule;
import org.netvm.dataplane.SetElement;
import org.netvm.dataplane.SetRef;
import org.netvm.dataplane.SetType;
import org.netvm.testing.netns.Netns;
import org.netvm.util.SystemProcessRunner;

/**
 * The flowtable fast path against the real kernel: guest 10.98.0.2 -- vif7.0 [router] up0 -- 10.97.0.2
 * upstream, each in a throwaway namespace. Where the kernel has flowtables, an established TCP flow is
 * offloaded ({@code [OFFLOAD]} in conntrack) and still stops once a rule forbids it and its conntrack
 * entry is deleted (what the firewall's conntrack cut does); where it has none (CONFIG_NF_FLOW_TABLE not
 * set), the backend reports the capability absent, applies the plan as ever, and the same cut stops the flow.
 */
class FastpathKernelTest {
    private static final ChainRef FORWARD = ChainRef.of(Family.INET, "forward");
    private static Netns router;
    private static Netns guest;
    private static Netns up;
    private static NftablesBackend backend;

    @BeforeAll
    static void setUp() throws IOException {
        Netns.assumeUsable("nft", "conntrack", "socat", "bash", "timeout");
        router = Netns.create("fp");
        guest = router.peer("fpg");
        up = router.peer("fpu");
        router.veth("vif7.0", "10.98.0.1/24", guest, "eth0", "10.98.0.2/24");
        router.veth("up0", "10.97.0.1/24", up, "eth0", "10.97.0.2/24");
        guest.route("default", "via", "10.98.0.1");
        up.route("10.98.0.0/24", "via", "10.97.0.1");
        router.ok("sysctl", "-qw", "net.ipv4.ip_forward=1");
        router.route("default", "via", "10.97.0.2");
        up.exec(List.of("nft", "-f", "-"), """
                table inet t {
                  counter c { }
                  chain in { type filter hook input priority 0; policy accept; tcp dport 7000 counter name "c"; }
                }
                """);
        backend = new NftablesBackend(new SystemProcessRunner(Duration.ofSeconds(30)), "nft", router.name(), "netvm",
                argv -> null, true);
    }

    @AfterAll
    static void tearDown() throws IOException {
        if (router != null) {
            router.close();
        }
    }

    /** A forward chain (established first, as the policy's); {@code forbid}: new flows to port 7000 dropped. */
    private static Plan plan(boolean forbid) {
        Contribution.Builder c = Contribution.builder("test")
                .chain(Chain.filter(Family.INET, "forward", Hook.FORWARD, Priority.FILTER, Policy.ACCEPT))
                .set(NamedSet.of(Family.INET, "allowed", SetType.IFNAME_IPV4_ADDR))
                .element(SetRef.of(Family.INET, "allowed"), SetElement.of("vif7.0", "10.98.0.2"))
                .rule(Rule.in(FORWARD).ct(Match.CtState.ESTABLISHED, Match.CtState.RELATED).accept());
        if (forbid) {
            c.rule(Rule.in(FORWARD).ct(Match.CtState.NEW).dport(Match.Protocol.TCP, 7000).counter().drop());
        }
        return Plan.merge(c.build());
    }

    private static long received() {
        String out = up.ok("nft", "list", "counter", "inet", "t", "c");
        return Long.parseLong(out.replaceAll("(?s).*packets (\\d+).*", "$1"));
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void anOffloadedFlowStopsWhenARuleForbidsItAndItsConntrackEntryIsDeleted() throws Exception {
        backend.apply(plan(false));
        boolean offloading = backend.fastPath().startsWith("on");
        if (offloading) {
            assertTrue(router.ok("nft", "list", "table", "inet", "netvm-fastpath").contains("\"vif7.0\""),
                    "the vif is a device of the flowtable");
        } else {
            assertEquals("absent (this kernel has no nftables flowtables)", backend.fastPath());
            assertTrue(!router.exec("nft", "list", "table", "inet", "netvm-fastpath").ok(), "no fast path table");
        }
        Process listener = new ProcessBuilder(List.of("ip", "netns", "exec", up.name(), "timeout", "60",
                "socat", "-u", "TCP-LISTEN:7000,reuseaddr", "OPEN:/dev/null")).redirectErrorStream(true).start();
        sleep(300);
        Process sender = new ProcessBuilder(List.of("ip", "netns", "exec", guest.name(), "timeout", "60", "bash", "-c",
                "exec 3<>/dev/tcp/10.97.0.2/7000 || exit 1; while echo 0123456789 >&3; do sleep 0.01; done"))
                .redirectErrorStream(true).start();
        try {
            long t0 = System.nanoTime();
            while (received() < 20 && System.nanoTime() - t0 < 5_000_000_000L) {
                sleep(50);
            }
            assertTrue(received() >= 20, "the flow runs: " + received() + " packets");
            if (offloading) {
                String ct = "";
                for (int i = 0; i < 50 && !ct.contains("[OFFLOAD]"); i++) {
                    sleep(100);
                    ct = router.ok("conntrack", "-L", "-p", "tcp", "--dport", "7000");
                }
                assertTrue(ct.contains("[OFFLOAD]"), "offloaded: " + ct);
            }
            long before = received();
            sleep(500);
            assertTrue(received() > before, "packets keep arriving while the flow is allowed");

            backend.apply(plan(true)); // the firewall forbids it: new flows only, as its rules
            sleep(500);
            assertTrue(received() > before, "an established flow is not cut by the rule alone");
            router.exec("conntrack", "-D", "-p", "tcp", "--dport", "7000"); // the firewall's conntrack cut
            sleep(2000); // the flowtable's garbage collector tears an offloaded flow down within a second
            long cut = received();
            sleep(2000);
            assertEquals(cut, received(), "not one packet reaches the upstream after the cut");
        } finally {
            sender.destroyForcibly();
            listener.destroyForcibly();
            backend.sweep();
        }
    }

    @Test
    void theFastPathNeverFailsThePlan() throws BackendException {
        backend.apply(plan(false));
        assertTrue(router.ok("nft", "list", "table", "inet", "netvm").contains("chain forward"));
        backend.sweep();
        assertTrue(!router.exec("nft", "list", "table", "inet", "netvm-fastpath").ok(), "swept with the tables");
    }
}
