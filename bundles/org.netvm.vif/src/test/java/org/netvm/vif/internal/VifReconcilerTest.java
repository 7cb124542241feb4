package org.netvm.vif.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.netvm.kernel.Address;
import org.netvm.kernel.IpPrefix;
import org.netvm.kernel.MacAddress;
import org.netvm.kernel.Neighbour;
import org.netvm.kernel.Op;
import org.netvm.kernel.Route;
import org.netvm.kernel.Sysctl;
import org.netvm.vif.VifHook;
import org.netvm.vif.VifState.Actual;
import org.netvm.vif.VifState.Desired;

class VifReconcilerTest {

    @Test
    void onlineIpv4MatchesGoldenTrace() {
        try (Rig rig = new Rig()) {
            rig.xs.putVif(3, 0, "10.137.0.5", Rig.MAC);
            rig.kernel.addLink("vif3.0");
            assertTrue(rig.reconciler.pass(true));

            Rig.assertGolden("vif-online-ipv4.trace", rig.trace());
            var s = rig.state("vif3.0");
            assertEquals(Actual.PROGRAMMED, s.actual());
            assertEquals("10.137.0.5", s.ipv4());
            assertNull(s.ipv6());
            assertEquals("00:16:3e:5e:6c:00", s.mac());
            assertNull(s.error());

            // a second pass finds everything in place: nothing is written, nothing re-purged
            rig.trace.clear();
            assertTrue(rig.reconciler.pass(true));
            assertEquals(List.of(), rig.trace);
            assertEquals(0, rig.reconciler.counters().repairs());
        }
    }

    @Test
    void periodicPassesCheckTheKernelAndRereadXenstoreWholeOnlyNowAndThen() {
        try (Rig rig = new Rig()) {
            rig.xs.putVif(3, 0, "10.137.0.5", Rig.MAC);
            rig.kernel.addLink("vif3.0");
            rig.kernel.addLink("vif4.0"); // its keys come later
            assertTrue(rig.reconciler.pass(true));
            assertEquals(Actual.PROGRAMMED, rig.state("vif3.0").actual());

            // keys written without a watch event (none should be lost, but): the periodic passes
            // between the whole re-reads use the watched state, and still repair the kernel
            rig.xs.fireWatches(false);
            rig.xs.putVif(4, 0, "10.137.0.6", Rig.MAC);
            synchronized (rig.kernel) {
                rig.kernel.routes.removeIf(r -> "vif3.0".equals(r.device()));
            }
            rig.trace.clear();
            assertTrue(rig.reconciler.pass(true));
            assertTrue(rig.trace().contains("route replace 10.137.0.5/32 dev vif3.0"), rig.trace());
            assertTrue(rig.reconciler.vif("vif4.0").map(v -> v.actual() != Actual.PROGRAMMED).orElse(true),
                    "xenstore is not re-read whole on every periodic pass");
            for (int i = 2; i <= VifReconciler.XS_RESCAN_PASSES; i++) {
                assertTrue(rig.reconciler.pass(true));
            }
            assertEquals(Actual.PROGRAMMED, rig.state("vif4.0").actual(), "found by the whole re-read");
        }
    }

    @Test
    void onlineIpv4AndIpv6MatchesGoldenTrace() {
        try (Rig rig = new Rig()) {
            rig.xs.put(VifReconciler.GATEWAY6_KEY, "fd09:24ef:4179::a89:1");
            rig.xs.putVif(3, 0, "10.137.0.5 fd09:24ef:4179::a89:5", "00:16:3e:5e:6c:05");
            rig.kernel.addLink("vif3.0");
            assertTrue(rig.reconciler.pass(true));

            Rig.assertGolden("vif-online-ipv4-ipv6.trace", rig.trace());
            var s = rig.state("vif3.0");
            assertEquals(Actual.PROGRAMMED, s.actual());
            assertEquals("fd09:24ef:4179::a89:5", s.ipv6());
        }
    }

    @Test
    void offlineMatchesGoldenTraceAndToleratesAVanishedDevice() {
        try (Rig rig = new Rig()) {
            rig.xs.putVif(3, 0, "10.137.0.5", Rig.MAC);
            rig.xs.putVif(4, 0, "10.137.0.6", Rig.MAC);
            rig.kernel.addLink("vif3.0");
            rig.kernel.addLink("vif4.0");
            rig.reconciler.pass(true);
            List<VifHook.Event> events = new CopyOnWriteArrayList<>();
            rig.hooks.add(events::add);
            rig.trace.clear();

            // vif3.0: the hotplug script says offline while the device still exists
            rig.reconciler.hotplug(VifName.parse("vif3.0").orElseThrow(), VifReconciler.Intent.OFFLINE);
            assertTrue(rig.reconciler.pass(false));
            Rig.assertGolden("vif-offline.trace", rig.trace());
            assertEquals(Actual.ABSENT, rig.state("vif3.0").actual());
            assertEquals(Desired.OFFLINE, rig.state("vif3.0").desired());
            assertTrue(rig.kernel.routes.stream().noneMatch(r -> r.device().equals("vif3.0")));
            assertTrue(rig.kernel.neighbours.stream().noneMatch(n -> n.device().equals("vif3.0")));
            assertTrue(rig.kernel.addresses.stream().noneMatch(a -> a.device().equals("vif3.0")));

            // vif4.0: the device vanishes first, then the xenstore entry
            rig.trace.clear();
            rig.kernel.removeLink("vif4.0");
            rig.xs.remove("backend/vif/4");
            assertTrue(rig.reconciler.pass(false));
            assertEquals("dataplane remove vif/vif4.0\nconntrack purge 10.137.0.6\n", rig.trace());
            assertTrue(rig.reconciler.vif("vif4.0").isEmpty(), "a vif gone everywhere leaves the status");
            Rig.awaitTrue("offline hooks", () -> events.size() == 2);
            // hooks run off the reconciler thread: the two may finish in either order
            assertEquals(List.of(VifHook.Action.OFFLINE, VifHook.Action.OFFLINE),
                    events.stream().map(VifHook.Event::action).toList());
            assertEquals(java.util.Set.of("10.137.0.5", "10.137.0.6"),
                    events.stream().map(VifHook.Event::ipv4).collect(java.util.stream.Collectors.toSet()));
            // vif4.0's kernel objects went with the device; vif3.0's were removed; nothing is left
            assertEquals(List.of(), rig.kernel.routes);
        }
    }

    @Test
    void linkComesUpOnlyAfterTheDataplaneConfirmedTheElements() throws Exception {
        try (Rig rig = new Rig()) {
            rig.xs.putVif(3, 0, "10.137.0.5", Rig.MAC);
            rig.kernel.addLink("vif3.0");
            rig.antiSpoof.hold = true;
            Thread pass = Thread.ofPlatform().start(() -> rig.reconciler.pass(true));
            Rig.awaitTrue("the put", () -> !rig.antiSpoof.held.isEmpty());
            Thread.sleep(100);
            assertTrue(rig.trace.stream().noneMatch(t -> t.contains("link set")), rig.trace());
            assertFalse(rig.kernel.links.get("vif3.0").up());
            assertTrue(rig.kernel.routes.isEmpty(), "no route before the elements are in place");

            rig.trace.add("dataplane confirmed");
            rig.antiSpoof.held.forEach(f -> f.complete(null));
            pass.join(5_000);
            String t = rig.trace();
            assertTrue(t.indexOf("dataplane confirmed") < t.indexOf("link set dev vif3.0 group 2 up"), t);
            assertTrue(rig.kernel.links.get("vif3.0").up());
            assertEquals(Actual.PROGRAMMED, rig.state("vif3.0").actual());
        }
    }

    @Test
    void aFailedOrUnconfirmedPutLeavesTheLinkDown() {
        try (Rig rig = new Rig()) {
            rig.xs.putVif(3, 0, "10.137.0.5", Rig.MAC);
            rig.kernel.addLink("vif3.0");
            rig.antiSpoof.failWith = new IllegalStateException("set allowed is not declared");
            rig.reconciler.pass(true);
            var s = rig.state("vif3.0");
            assertEquals(Actual.FAILED, s.actual());
            assertTrue(s.error().contains("set allowed is not declared"), s.error());
            assertFalse(rig.kernel.links.get("vif3.0").up());
            assertTrue(rig.trace.stream().noneMatch(t -> t.contains("link set")));

            // the dataplane recovers: the next resync programs the vif
            rig.antiSpoof.failWith = null;
            rig.reconciler.pass(true);
            assertEquals(Actual.PROGRAMMED, rig.state("vif3.0").actual());
            assertTrue(rig.kernel.links.get("vif3.0").up());
        }
    }

    @Test
    void hostileInputsFailThatVifOnlyAndReachNoKernel() {
        try (Rig rig = new Rig()) {
            rig.xs.putVif(3, 0, "10.137.0.5", Rig.MAC);                          // good
            rig.xs.putVif(4, 0, "10.137.0.256", Rig.MAC);                        // bad IPv4
            rig.xs.putVif(5, 0, "10.137.0.7", "00:16:3e:5e:6c:00;reboot");   // shell in the MAC
            rig.xs.putVif(32753, 0, "10.137.0.8", Rig.MAC);                      // domid too high
            rig.xs.putVif(6, 0, "10.137.0.9 " + "f".repeat(80), Rig.MAC);        // overlong
            rig.xs.putVif(7, 0, "10.137.0.010", Rig.MAC);                        // leading zero
            rig.xs.putVif(8, 0, "10.137.0.11 10.137.0.12", Rig.MAC);             // second word not IPv6
            rig.xs.putVif(9, 0, "10.137.0.13\n", Rig.MAC);                       // trailing newline
            rig.xs.putVif(10, 0, "127.0.0.1", Rig.MAC);                          // not a guest address
            rig.xs.putVif(11, 0, null, Rig.MAC);                                 // no ip
            rig.xs.put("backend/vif/12;reboot/0/ip", "10.137.0.14");          // directory name outside the pattern
            for (String v : List.of("vif3.0", "vif4.0", "vif5.0", "vif32753.0", "vif6.0", "vif7.0", "vif8.0", "vif9.0",
                    "vif10.0", "vif11.0")) {
                rig.kernel.addLink(v);
            }
            assertTrue(rig.reconciler.pass(true));

            assertEquals(Actual.PROGRAMMED, rig.state("vif3.0").actual());
            assertFailed(rig, "vif4.0", "ip: not an IPv4 address: \"10.137.0.256\"");
            assertFailed(rig, "vif5.0", "mac must match");
            assertFailed(rig, "vif32753.0", "domid 32753 is above 32752");
            assertFailed(rig, "vif6.0", "ip value too long");
            assertFailed(rig, "vif7.0", "not an IPv4 address: \"10.137.0.010\"");
            assertFailed(rig, "vif8.0", "not an IPv6 address: \"10.137.0.12\"");
            assertFailed(rig, "vif9.0", "\\x0a");
            assertFailed(rig, "vif10.0", "not a unicast address");
            assertFailed(rig, "vif11.0", "no ip in xenstore");
            assertEquals(List.of("vif3.0", "vif4.0", "vif5.0", "vif6.0", "vif7.0", "vif8.0", "vif9.0", "vif10.0",
                    "vif11.0", "vif32753.0"), VifReconciler.names(rig.reconciler.vifs()));
            // only vif3.0 reached the kernel and the dataplane
            for (var b : rig.kernel.applied) {
                for (Op op : b.ops()) {
                    String dev = op instanceof Op.SysctlSet s ? s.key().path().split("/")[3] : op.device();
                    assertEquals("vif3.0", dev, op.render());
                }
            }
            assertEquals(java.util.Set.of("vif/vif3.0", VifReconciler.READY_OWNER), rig.antiSpoof.contributions.keySet());
            assertTrue(rig.trace.stream().noneMatch(t -> t.contains("reboot")));
        }
    }

    private static void assertFailed(Rig rig, String vif, String error) {
        var s = rig.state(vif);
        assertEquals(Actual.FAILED, s.actual(), vif);
        assertTrue(s.error() != null && s.error().contains(error), vif + ": " + s.error());
        assertTrue(s.error().startsWith(vif + ": "), s.error());
    }

    @Test
    void aVifWhoseValuesTurnInvalidIsRemovedFailClosed() {
        try (Rig rig = new Rig()) {
            rig.xs.putVif(3, 0, "10.137.0.5", Rig.MAC);
            rig.kernel.addLink("vif3.0");
            rig.reconciler.pass(true);
            rig.xs.put("backend/vif/3/0/ip", "10.137.0.5; reboot");
            rig.reconciler.pass(false);
            assertEquals(Actual.FAILED, rig.state("vif3.0").actual());
            assertTrue(rig.kernel.routes.isEmpty());
            assertEquals(java.util.Set.of(VifReconciler.READY_OWNER), rig.antiSpoof.contributions.keySet(),
                    "only the first pass's marker is left");
        }
    }

    @Test
    void afterARestartNothingIsWrittenBeforeTheInitialScanThenStaleObjectsAreSwept() throws Exception {
        try (Rig rig = new Rig()) {
            // what the previous incarnation left: vif3.0 fully programmed, vif9.0 of a departed guest
            rig.xs.putVif(3, 0, "10.137.0.5", Rig.MAC);
            rig.kernel.addLink("vif3.0");
            rig.kernel.addLink("vif9.0");
            MacAddress mac = MacAddress.parse("00:16:3e:5e:6c:00");
            rig.kernel.sysctls.put(Sysctl.proxyArp("vif3.0").path(), 1);
            rig.kernel.neighbours.add(Neighbour.permanent(FakeKernel.addr("10.137.0.5"), mac, "vif3.0"));
            rig.kernel.routes.add(FakeKernel.hostRoute("10.137.0.5", "vif3.0", 32749));
            rig.kernel.addresses.add(Address.of("vif3.0", IpPrefix.parse("10.137.0.1/32")));
            rig.kernel.apply(new org.netvm.kernel.Batch().setLink("vif3.0", 2, true));
            rig.kernel.routes.add(FakeKernel.hostRoute("10.137.0.9", "vif9.0", 32743));
            rig.kernel.neighbours.add(Neighbour.permanent(FakeKernel.addr("10.137.0.9"), mac, "vif9.0"));
            rig.kernel.routes.add(Route.host(FakeKernel.addr("192.168.1.0"), "eth0").withProtocol(Route.PROTO_BOOT));
            rig.trace.clear();
            rig.kernel.applied.clear();

            CountDownLatch directoryGate = new CountDownLatch(1);
            rig.xs.holdDirectory(directoryGate);
            rig.reconciler.start();
            Thread.sleep(300);
            assertEquals(List.of(), rig.trace, "nothing is written before the initial scan is complete");
            assertFalse(rig.reconciler.counters().synced());

            directoryGate.countDown();
            Rig.awaitTrue("the sweep", () -> rig.kernel.routes.stream().noneMatch(r -> "vif9.0".equals(r.device())));
            Rig.awaitTrue("vif3.0 adopted", () -> rig.reconciler.vif("vif3.0").map(s -> s.actual() == Actual.PROGRAMMED)
                    .orElse(false));
            String t = rig.trace();
            assertTrue(t.contains("route delete 10.137.0.9/32 dev vif9.0 scope link metric 32743 proto netvm"), t);
            assertTrue(t.contains("neighbour delete 10.137.0.9 dev vif9.0"), t);
            assertTrue(t.contains("dataplane remove vif/vif9.0"), t);
            // the working vif is not touched in the kernel (only its elements are handed to the dataplane again)
            assertFalse(t.contains("dev vif3.0"), t);
            assertFalse(t.contains("conntrack"), "no purge for a working guest: " + t);
            assertTrue(t.contains("dataplane put vif/vif3.0"), t);
            // other protocols' routes are not netvm's
            assertTrue(rig.kernel.routes.stream().anyMatch(r -> "eth0".equals(r.device())));
        }
    }

    @Test
    void resyncRepairsDriftAndCountsIt() {
        try (Rig rig = new Rig()) {
            rig.xs.putVif(3, 0, "10.137.0.5", Rig.MAC);
            rig.kernel.addLink("vif3.0");
            rig.reconciler.pass(true);
            // someone deletes the route and the neighbour
            rig.kernel.routes.clear();
            rig.kernel.neighbours.clear();
            rig.trace.clear();
            rig.reconciler.pass(true);
            assertEquals("""
                    kernel batch:
                    neighbour replace 10.137.0.5 lladdr 00:16:3e:5e:6c:00 dev vif3.0 nud permanent
                    kernel batch:
                    route replace 10.137.0.5/32 dev vif3.0 scope link metric 32749 proto netvm
                    """, rig.trace());
            assertEquals(2, rig.reconciler.counters().repairs());
            assertEquals(2, rig.state("vif3.0").repairs());
        }
    }

    @Test
    void aBurstOf100VifsTakesAFewBatches() {
        try (Rig rig = new Rig()) {
            rig.reconciler.start();
            Rig.awaitTrue("initial sync", () -> rig.reconciler.counters().synced());
            long before = rig.reconciler.counters().batches();
            long passesBefore = rig.reconciler.counters().passes();
            long start = System.nanoTime();
            for (int d = 1; d <= 100; d++) {
                rig.xs.putVif(d, 0, "10.137.1." + d, Rig.MAC);
                rig.kernel.addLink("vif" + d + ".0");
            }
            Rig.awaitTrue("100 vifs programmed", () -> rig.reconciler.vifs().stream()
                    .filter(s -> s.actual() == Actual.PROGRAMMED).count() == 100);
            long batches = rig.reconciler.counters().batches() - before;
            System.out.printf("burst of 100 vifs: %d kernel batches in %d passes, %d ms%n", batches,
                    rig.reconciler.counters().passes() - passesBefore, (System.nanoTime() - start) / 1_000_000);
            assertTrue(batches <= 9, "batches: " + batches);
            assertEquals(100, rig.kernel.routes.size());
            assertTrue(rig.kernel.applied.stream().mapToInt(b -> b.size()).max().orElse(0) >= 100,
                    "operations of many vifs share a batch");
        }
    }

    @Test
    void hooksThatThrowOrHangDoNotBlockOthers() {
        try (Rig rig = new Rig()) {
            List<String> seen = new CopyOnWriteArrayList<>();
            CountDownLatch never = new CountDownLatch(1);
            rig.hooks.add(e -> {
                throw new IllegalStateException("broken hook");
            });
            rig.hooks.add(e -> never.await());
            rig.hooks.add(e -> seen.add(e.action() + " " + e.vif() + " " + e.domid() + " " + e.ipv4()));
            rig.xs.putVif(3, 0, "10.137.0.5", Rig.MAC);
            rig.xs.putVif(4, 0, "10.137.0.6", Rig.MAC);
            rig.kernel.addLink("vif3.0");
            rig.kernel.addLink("vif4.0");
            long start = System.nanoTime();
            rig.reconciler.pass(true);
            assertTrue(System.nanoTime() - start < TimeUnit.MILLISECONDS.toNanos(400), "the pass did not wait for hooks");
            Rig.awaitTrue("hooks", () -> seen.size() == 2);
            assertEquals(List.of("ONLINE vif3.0 3 10.137.0.5", "ONLINE vif4.0 4 10.137.0.6"), new ArrayList<>(seen).stream()
                    .sorted().toList());
        }
    }

    @Test
    void aKernelFailureFailsOnlyItsVif() {
        try (Rig rig = new Rig()) {
            rig.xs.putVif(3, 0, "10.137.0.5", Rig.MAC);
            rig.xs.putVif(4, 0, "10.137.0.6", Rig.MAC);
            rig.kernel.addLink("vif3.0");
            rig.kernel.addLink("vif4.0");
            rig.kernel.failing = op -> op instanceof Op.NeighbourReplace n && n.device().equals("vif4.0");
            rig.reconciler.pass(true);
            assertEquals(Actual.PROGRAMMED, rig.state("vif3.0").actual());
            var s = rig.state("vif4.0");
            assertEquals(Actual.FAILED, s.actual());
            assertTrue(s.error().contains("neighbour replace 10.137.0.6"), s.error());
            assertFalse(rig.kernel.links.get("vif4.0").up(), "a vif that failed is not brought up");
            assertFalse(rig.antiSpoof.contributions.containsKey("vif/vif4.0"));
        }
    }

    @Test
    void watchPathsMarkTheRightVifs() {
        try (Rig rig = new Rig()) {
            rig.xs.putVif(3, 0, "10.137.0.5", Rig.MAC);
            rig.kernel.addLink("vif3.0");
            rig.reconciler.pass(true);
            rig.trace.clear();
            rig.xs.fireWatches(false);
            rig.xs.put("backend/vif/3/0/ip", "10.137.0.7");
            rig.reconciler.xenstoreChanged("backend/vif/3/0/ip");
            rig.reconciler.pass(false);
            assertEquals("10.137.0.7", rig.state("vif3.0").ipv4());
            String t = rig.trace();
            assertTrue(t.contains("route delete 10.137.0.5/32 dev vif3.0"), t);
            assertTrue(t.contains("route replace 10.137.0.7/32 dev vif3.0"), t);
            assertTrue(t.contains("conntrack purge 10.137.0.7 10.137.0.5"), t);
        }
    }

    @Test
    void theAnswerOfAHotplugCallIsNoReasonForAPass() {
        try (Rig rig = new Rig()) {
            rig.xs.putVif(3, 0, "10.137.0.5", Rig.MAC);
            rig.kernel.addLink("vif3.0");
            rig.reconciler.pass(true);
            rig.xs.fireWatches(false);
            rig.xs.put("backend/vif/3/0/ip", "10.137.0.7"); // not announced: only a pass for vif3.0 would see it
            rig.reconciler.xenstoreChanged("backend/vif/3/0/hotplug-status");
            rig.reconciler.xenstoreChanged("backend/vif/3/0/hotplug-error");
            rig.reconciler.pass(false);
            assertEquals("10.137.0.5", rig.state("vif3.0").ipv4(), "hotplug-status/-error are netvm's answers, not inputs");
            rig.reconciler.xenstoreChanged("backend/vif/3/0/ip");
            rig.reconciler.pass(false);
            assertEquals("10.137.0.7", rig.state("vif3.0").ipv4());
        }
    }

    @Test
    void aGatewayChangeMovesTheAddressOnEveryVif() {
        try (Rig rig = new Rig()) {
            rig.xs.putVif(3, 0, "10.137.0.5", Rig.MAC);
            rig.kernel.addLink("vif3.0");
            rig.reconciler.pass(true);
            rig.trace.clear();
            rig.xs.put(VifReconciler.GATEWAY_KEY, "10.137.0.2");
            rig.reconciler.gatewayChanged();
            rig.reconciler.pass(false);
            assertEquals("""
                    kernel batch:
                    address delete 10.137.0.1/32 dev vif3.0
                    kernel batch:
                    address replace 10.137.0.2/32 dev vif3.0
                    """, rig.trace());
        }
    }

    @Test
    void theTimeFromTheFirstEventToProgrammedIsMeasuredOncePerAttach() {
        try (Rig rig = new Rig()) {
            assertTrue(rig.reconciler.pass(true));
            rig.xs.putVif(3, 0, "10.137.0.5", Rig.MAC); // the watch fires: the first event
            assertTrue(rig.reconciler.pass(false));
            assertEquals(Actual.PENDING, rig.state("vif3.0").actual(), "no device yet");
            assertEquals(0, rig.reconciler.programmingSeconds().count());

            rig.kernel.addLink("vif3.0");
            assertTrue(rig.reconciler.pass(false));
            assertEquals(Actual.PROGRAMMED, rig.state("vif3.0").actual());
            var h = rig.reconciler.programmingSeconds();
            assertEquals(1, h.count());
            assertTrue(h.sum() > 0, "measured from the xenstore event, across both passes");
            assertEquals(h.bounds().size(), h.cumulativeCounts().size());

            // our own link-up echoes back as a link event, and resyncs run: still one attach
            assertTrue(rig.reconciler.pass(false));
            assertTrue(rig.reconciler.pass(true));
            assertEquals(1, rig.reconciler.programmingSeconds().count());
        }
    }

    @Test
    void eachVifOutcomeIsLoggedOnceAndAFlappingGuestIsRateLimited() {
        List<String> lines = new CopyOnWriteArrayList<>();
        try (LogCapture capture = new LogCapture(lines); Rig rig = new Rig()) {
            assertTrue(rig.reconciler.pass(true)); // the start-up (its vifs are summed up in one line)
            rig.xs.putVif(3, 0, "10.137.0.5", Rig.MAC);
            rig.kernel.addLink("vif3.0");
            assertTrue(rig.reconciler.pass(true));
            assertTrue(rig.reconciler.pass(true));
            List<String> events = lines.stream().filter(l -> l.contains("vif event")).toList();
            assertEquals(List.of("INFO vif event vif=vif3.0 domid=3 desired=online actual=programmed ipv4=10.137.0.5"
                    + " metric=32749 ops=6"), events, "one line for the attach, none for a quiet resync");

            for (int i = 0; i < 20; i++) {
                rig.kernel.removeLink("vif3.0");
                assertTrue(rig.reconciler.pass(false));
                rig.kernel.addLink("vif3.0");
                assertTrue(rig.reconciler.pass(false));
            }
            assertEquals(5, lines.stream().filter(l -> l.contains("vif event vif=vif3.0")).count(), lines.toString());
        }
    }

    @Test
    void theStartUpIsOneInfoLineNotOnePerVifButFailuresStayWarnings() {
        List<String> lines = new CopyOnWriteArrayList<>();
        try (LogCapture capture = new LogCapture(lines); Rig rig = new Rig()) {
            for (int d = 3; d < 6; d++) {
                rig.xs.putVif(d, 0, "10.137.0." + (d + 2), Rig.MAC);
                rig.kernel.addLink("vif" + d + ".0");
            }
            rig.xs.putVif(7, 0, "not-an-address", Rig.MAC);
            rig.kernel.addLink("vif7.0");
            assertTrue(rig.reconciler.pass(true));
            List<String> info = lines.stream().filter(l -> l.startsWith("INFO") && l.contains("vif")).toList();
            assertEquals(0, info.stream().filter(l -> l.contains("vif event")).count(), lines.toString());
            List<String> startup = info.stream().filter(l -> l.contains("vif start-up done")).toList();
            assertEquals(1, startup.size(), lines.toString());
            assertTrue(startup.get(0).startsWith("INFO vif start-up done: 4 vif(s): 0 pending, 3 programmed, 1 failed,"
                    + " 0 absent in "), startup.get(0));
            assertEquals(1, lines.stream().filter(l -> l.startsWith("WARNING vif event vif=vif7.0")).count(),
                    lines.toString());

            assertTrue(rig.reconciler.pass(true));
            assertEquals(1, lines.stream().filter(l -> l.contains("vif start-up done")).count(), "once");
        }
    }

    /** The reconciler's log lines ("LEVEL message") into {@code lines} while open. */
    private static final class LogCapture extends java.util.logging.Handler implements AutoCloseable {
        private final java.util.logging.Logger jul = java.util.logging.Logger.getLogger(VifReconciler.class.getName());
        private final List<String> lines;

        LogCapture(List<String> lines) {
            this.lines = lines;
            jul.addHandler(this);
        }

        @Override
        public void publish(java.util.logging.LogRecord r) {
            lines.add(r.getLevel() + " " + r.getMessage());
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
            jul.removeHandler(this);
        }
    }
}
