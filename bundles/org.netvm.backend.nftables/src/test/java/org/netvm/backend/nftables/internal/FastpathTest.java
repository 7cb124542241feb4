package org.netvm.backend.nftables.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.SortedSet;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.netvm.dataplane.Plan;

/**
 * The flowtable fast path ({@link Fastpath}): the rendered table (golden files fastpath-*.nft), and what
 * is sent when vifs and uplinks come and go, against a fake runner. The real kernel: FastpathKernelTest.
 */
class FastpathTest {

    /** Records every call; answers from queues (default: success). */
    static class FakeRun implements Fastpath.Runner {
        final List<String> sent = new ArrayList<>();
        final Deque<String> nftAnswers = new ArrayDeque<>();
        final Deque<String> lineAnswers = new ArrayDeque<>();
        String routes4 = "default via 198.51.100.1 dev up0 proto static\n";

        @Override
        public String nft(List<String> args, String stdin) {
            sent.add("nft " + String.join(" ", args) + "\n" + stdin);
            return nftAnswers.isEmpty() ? null : nftAnswers.poll();
        }

        @Override
        public String nftLine(String script) {
            sent.add("line " + script);
            String a = lineAnswers.poll();
            return a == null || a.isEmpty() ? null : a;
        }

        @Override
        public String ip(List<String> args, StringBuilder out) {
            sent.add("ip " + String.join(" ", args) + "\n");
            out.append(args.contains("-4") ? routes4 : "");
            return null;
        }
    }

    private static SortedSet<String> set(String... names) {
        return new TreeSet<>(List.of(names));
    }

    @Test
    void theTableOffloadsEstablishedFlowsAfterEveryOtherForwardChain() throws IOException {
        Fastpath f = new Fastpath("netvm", true, new FakeRun());
        NftRendererGoldenTest.assertGolden("fastpath-create.nft", f.sweep() + f.create(set("up0", "vif3.0", "vif4.0")));
        NftRendererGoldenTest.assertGolden("fastpath-change.nft",
                f.change(set("up0", "vif3.0", "vif4.0"), set("up0", "vif4.0", "vif5.0")));
    }

    @Test
    void devicesAreThePlansVifsAndTheUplinks() {
        FakeRun run = new FakeRun();
        Fastpath f = new Fastpath("netvm", true, run);
        f.sync(QubesPlans.twoGuests());
        assertEquals(List.of("nft -c -f -", "ip -4 -o route show default", "ip -6 -o route show default", "nft -f -"),
                run.sent.stream().map(s -> s.lines().findFirst().orElse("")).toList());
        assertTrue(run.sent.get(3).contains("devices = { \"up0\", \"vif3.0\", \"vif4.0\" }"), run.sent.get(3));
        assertEquals("on (3 devices)", f.state());
    }

    @Test
    void aVifComingAndGoingIsOneLineEach() {
        FakeRun run = new FakeRun();
        Fastpath f = new Fastpath("netvm", true, run);
        f.sync(QubesPlans.twoGuests());
        run.sent.clear();
        f.sync(Plan.EMPTY);
        assertEquals(List.of("line delete flowtable inet netvm-fastpath ft { hook ingress priority filter; devices = { \"vif3.0\", \"vif4.0\" }; }\n"),
                run.sent);
        run.sent.clear();
        f.sync(Plan.EMPTY);
        assertEquals(List.of(), run.sent, "nothing changed, nothing sent");
        f.sync(QubesPlans.twoGuests());
        assertEquals(List.of("line add flowtable inet netvm-fastpath ft { hook ingress priority filter; devices = { \"vif3.0\", \"vif4.0\" }; }\n"),
                run.sent);
    }

    @Test
    void aDeviceTheKernelAlreadyDroppedDoesNotStopTheOthers() {
        FakeRun run = new FakeRun();
        Fastpath f = new Fastpath("netvm", true, run);
        f.sync(QubesPlans.twoGuests());
        run.sent.clear();
        run.lineAnswers.addAll(List.of("No such file or directory", "No such file or directory", ""));
        f.sync(Plan.EMPTY);
        assertEquals(3, run.sent.size(), "the pair refused, then one line per device: " + run.sent);
        assertEquals("on (1 devices)", f.state());
    }

    @Test
    void aRefusedDeviceAtCreationLeavesTheOthersOffloaded() {
        // probe ok, whole table refused, empty table ok; then one line per device, vif4.0 refused
        Deque<String> answers = new ArrayDeque<>(List.of("PROBE-OK", "No such file or directory", "EMPTY-OK"));
        Fastpath g = new Fastpath("netvm", true, new FakeRun() {
            @Override
            public String nft(List<String> args, String stdin) {
                super.nft(args, stdin);
                String a = answers.poll();
                return a == null || a.endsWith("-OK") ? null : a;
            }

            @Override
            public String nftLine(String script) {
                super.nftLine(script);
                return script.contains("vif4.0") ? "No such file or directory" : null;
            }
        });
        g.sync(QubesPlans.twoGuests());
        assertEquals("on (2 devices)", g.state());
    }

    @Test
    void withoutFlowtablesInTheKernelNothingIsSentAfterTheProbe() {
        FakeRun run = new FakeRun();
        run.nftAnswers.add("Error: Could not process rule: No such file or directory");
        Fastpath f = new Fastpath("netvm", true, run);
        f.sync(QubesPlans.twoGuests());
        f.sync(Plan.EMPTY);
        f.refreshUplinks(QubesPlans.twoGuests());
        assertEquals(1, run.sent.size(), "the probe only: " + run.sent);
        assertEquals("absent (this kernel has no nftables flowtables)", f.state());
    }

    @Test
    void switchedOffItRemovesALeftoverTableOnce() {
        FakeRun run = new FakeRun();
        Fastpath f = new Fastpath("netvm", false, run);
        f.sync(QubesPlans.twoGuests());
        f.sync(QubesPlans.twoGuests());
        assertEquals(List.of("nft -f -\nadd table inet netvm-fastpath\ndelete table inet netvm-fastpath\n"), run.sent);
        assertEquals("off (configured)", f.state());
    }

    @Test
    void anUplinkChangeFoundAtADriftCheckIsSent() {
        FakeRun run = new FakeRun();
        Fastpath f = new Fastpath("netvm", true, run);
        f.sync(QubesPlans.twoGuests());
        run.sent.clear();
        run.routes4 = "default via 192.168.1.1 dev wlan0 proto dhcp metric 600\n";
        f.refreshUplinks(QubesPlans.twoGuests());
        assertTrue(run.sent.contains("line delete flowtable inet netvm-fastpath ft { hook ingress priority filter; devices = { \"up0\" }; }\n"), run.sent.toString());
        assertTrue(run.sent.contains("line add flowtable inet netvm-fastpath ft { hook ingress priority filter; devices = { \"wlan0\" }; }\n"), run.sent.toString());
    }

    @Test
    void hostileLookingNamesAreLeftOut() {
        assertEquals(set("eth0"), Fastpath.uplinkNames("default via 1.2.3.4 dev eth0\ndefault dev a\"b;x\nnot default dev z\n"));
    }

    @Test
    void theBackendSendsThePlanFirstAndTheFastPathNeverFailsIt() throws Exception {
        FakeRunner r = new FakeRunner();
        NftablesBackend b = new NftablesBackend(r, "nft", "", "netvm", argv -> null, true);
        r.answer(0, "", "").answer(1, "", "Error: Could not process rule: No such file or directory");
        b.apply(QubesPlans.twoGuests());
        assertTrue(r.calls.get(0).stdin().contains("table inet netvm {"), "the plan first");
        assertEquals(List.of("nft", "-c", "-f", "-"), r.calls.get(1).argv(), "then the probe");
        assertEquals("absent (this kernel has no nftables flowtables)", b.fastPath());
        b.sweep();
        assertTrue(r.last().stdin().contains("delete table inet netvm-fastpath"), r.last().stdin());
        assertEquals("absent (not built in)", new NftablesBackend(r, "nft", "", "netvm").fastPath());
    }
}
