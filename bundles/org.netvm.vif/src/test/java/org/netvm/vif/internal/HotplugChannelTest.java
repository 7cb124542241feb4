package org.netvm.vif.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

/** The hotplug script's fast channel, with its files faked: requests in, answers and slot releases out. */
class HotplugChannelTest {

    private static HotplugChannel started(FakeHotplugFiles files, HotplugChannel.Command command, AtomicLong clock)
            throws IOException {
        HotplugChannel c = new HotplugChannel(files, command, 40, clock::get);
        c.start("4242 99");
        return c;
    }

    private static HotplugChannel.Command vifCommand(Rig rig) {
        VifCommand c = new VifCommand(rig.reconciler, rig.reconciler, rig.xs, "backend/vif", 5_000);
        return c::run;
    }

    @Test
    void onlineIsProgrammedAnsweredAndTheSlotFreed() throws IOException {
        try (Rig rig = new Rig()) {
            rig.reconciler.start();
            rig.xs.putVif(3, 0, "10.137.0.5", Rig.MAC);
            rig.kernel.addLink("vif3.0");
            FakeHotplugFiles files = new FakeHotplugFiles();
            HotplugChannel c = started(files, vifCommand(rig), new AtomicLong());
            assertEquals("4242 99 40", files.agentLine, "pid, start time, the script's deadline");
            assertEquals(HotplugChannel.SLOTS, files.slots);

            files.requests.add("123.456 7 online vif3.0 backend/vif/3/0");
            assertEquals(List.of("123.456 0"), files.awaitReply(7));
            Rig.awaitTrue("slot 7 freed", () -> files.released.contains(7));
            assertEquals("connected", rig.xs.get("backend/vif/3/0/hotplug-status"));
            assertTrue(rig.kernel.links.get("vif3.0").up());

            rig.xs.put("domid", "0");
            files.requests.add("123.457 8 offline vif3.0 /local/domain/0/backend/vif/3/0");
            assertEquals(List.of("123.457 0"), files.awaitReply(8));
            assertTrue(rig.kernel.routes.isEmpty());
            c.stop();
        }
    }

    @Test
    void aFailureIsReportedInXenstoreAndAnsweredWithItsMessage() throws IOException {
        try (Rig rig = new Rig()) {
            rig.reconciler.start();
            rig.xs.putVif(3, 0, "10.137.0.5", "00:16:3e:5e:6c:00;reboot");
            rig.kernel.addLink("vif3.0");
            FakeHotplugFiles files = new FakeHotplugFiles();
            HotplugChannel c = started(files, vifCommand(rig), new AtomicLong());
            files.requests.add("9.1 0 online vif3.0 backend/vif/3/0");
            String a = files.awaitReply(0).get(0);
            assertTrue(a.startsWith("9.1 1 netvm vif online \"vif3.0\": ") && a.contains("mac must match"), a);
            assertEquals("error", rig.xs.get("backend/vif/3/0/hotplug-status"));
            assertTrue(rig.xs.get("backend/vif/3/0/hotplug-error").contains("mac must match"));
            // a mismatched path: refused by the same checks as the control socket's (status 2, nothing written)
            files.requests.add("9.2 1 online vif3.0 backend/vif/4/0/../../3/0");
            assertTrue(files.awaitReply(1).get(0).startsWith("9.2 2 netvm vif online: --xenbus-path must be"),
                    files.replies.get(1).toString());
            assertNull(rig.xs.get("backend/vif/4/0/hotplug-status"));
            c.stop();
        }
    }

    @Test
    void answersAreOneLineOfPrintableText() throws IOException {
        FakeHotplugFiles files = new FakeHotplugFiles();
        HotplugChannel c = started(files, (args, out, err) -> {
            out.println("ignored");
            err.print("first \u0007line\u00e9 " + "x".repeat(500) + "\nsecond line");
            return 1;
        }, new AtomicLong());
        files.requests.add("1.1 2 online vif3.0 backend/vif/3/0");
        String a = files.awaitReply(2).get(0);
        assertTrue(a.startsWith("1.1 1 first ?line? xxx"), a);
        assertTrue(a.length() <= 8 + 300 && !a.contains("second"), a);
        c.stop();
    }

    @Test
    void whatItDoesNotUnderstandGoesToTheControlSocket() throws IOException {
        FakeHotplugFiles files = new FakeHotplugFiles();
        List<List<String>> ran = new java.util.concurrent.CopyOnWriteArrayList<>();
        HotplugChannel c = started(files, (args, out, err) -> {
            ran.add(args);
            return 0;
        }, new AtomicLong());
        files.requests.add("1.1 3 add vif3.0 backend/vif/3/0");
        files.requests.add("1.2 4 online vif3.0 backend/vif/3/0 extra");
        files.requests.add("1.3 5 online vif3.0 " + "a".repeat(65));
        files.requests.add("1.4 6 online vif3.0");
        assertEquals(List.of("1.1 3 request not understood"), files.awaitReply(3));
        assertEquals(List.of("1.2 3 request not understood"), files.awaitReply(4));
        assertEquals(List.of("1.3 3 request not understood"), files.awaitReply(5));
        assertEquals(List.of("1.4 3 request not understood"), files.awaitReply(6));
        // no token or slot, or a slot out of range: nobody to answer, nothing freed
        files.requests.add("online vif3.0 backend/vif/3/0");
        files.requests.add("1.5 64 online vif3.0 backend/vif/3/0");
        files.requests.add("1;reboot 1 online vif3.0 backend/vif/3/0");
        files.requests.add("2.2 9 online vif3.0 backend/vif/3/0");
        assertEquals(List.of("2.2 0"), files.awaitReply(9));
        assertEquals(List.of(List.of("online", "--vif", "vif3.0", "--xenbus-path", "backend/vif/3/0")), ran);
        assertEquals(5, files.replies.size());
        Rig.awaitTrue("the answered slots freed", () -> files.released.size() == 5);
        assertEquals(List.of(3, 4, 5, 6, 9), files.released.stream().sorted().toList());
        c.stop();
    }

    /**
     * A slot is freed only once its script has read the whole answer: freed earlier, the next script could
     * claim it, read this answer, drop it as a late one, and this script would wait until its deadline.
     */
    @Test
    void aSlotIsFreedOnlyOnceItsScriptReadTheAnswer() throws Exception {
        FakeHotplugFiles files = new FakeHotplugFiles();
        files.unreadSlots.add(5);
        HotplugChannel c = started(files, (args, out, err) -> 0, new AtomicLong());
        files.requests.add("1.1 5 online vif3.0 backend/vif/3/0");
        assertEquals(List.of("1.1 0"), files.awaitReply(5));
        files.requests.add("1.2 6 online vif4.0 backend/vif/4/0");
        assertEquals(List.of("1.2 0"), files.awaitReply(6));
        Rig.awaitTrue("slot 6 (read at once) freed", () -> files.released.contains(6));
        Thread.sleep(50);
        assertFalse(files.released.contains(5), "slot 5 kept while its answer is unread");
        files.unreadSlots.remove(5); // the script read it
        Rig.awaitTrue("slot 5 freed once read", () -> files.released.contains(5));
        c.stop();
    }

    @Test
    void tooManyAtOnceAreSentToTheControlSocket() throws Exception {
        FakeHotplugFiles files = new FakeHotplugFiles();
        CountDownLatch hold = new CountDownLatch(1);
        HotplugChannel c = started(files, (args, out, err) -> {
            try {
                hold.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return 0;
        }, new AtomicLong());
        for (int i = 0; i < HotplugChannel.MAX_CONCURRENT; i++) {
            files.requests.add("1." + i + " " + i + " online vif" + i + ".0 backend/vif/" + i + "/0");
        }
        files.requests.add("2.0 0 online vif99.0 backend/vif/99/0");
        assertEquals(List.of("2.0 3 busy"), files.awaitReply(0));
        hold.countDown();
        Rig.awaitTrue("all answered", () -> files.released.size() == HotplugChannel.MAX_CONCURRENT + 1);
        assertEquals(List.of("2.0 3 busy", "1.0 0"), files.replies.get(0));
        c.stop();
    }

    @Test
    void staleClaimsAreFreedOnceAMinuteExceptBusyOnes() throws Exception {
        FakeHotplugFiles files = new FakeHotplugFiles();
        AtomicLong clock = new AtomicLong(1_000);
        CountDownLatch hold = new CountDownLatch(1);
        AtomicLong running = new AtomicLong();
        HotplugChannel c = started(files, (args, out, err) -> {
            running.incrementAndGet();
            try {
                hold.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return 0;
        }, clock);
        files.requests.add("1.1 5 online vif5.0 backend/vif/5/0");
        files.requests.add("1.2 6 online vif6.0 backend/vif/6/0"); // the sweep's turn comes after a request
        Rig.awaitTrue("two calls running", () -> running.get() == 2);
        clock.addAndGet(HotplugChannel.SWEEP_MILLIS);
        files.requests.add("1.3 7 online vif7.0 backend/vif/7/0");
        Rig.awaitTrue("a sweep", () -> files.calls.contains("releaseStale " + (40 + 60) * 1000));
        assertTrue(files.staleBusy.containsAll(List.of(5, 6, 7)), files.staleBusy.toString());
        assertEquals(1, files.calls.stream().filter(s -> s.startsWith("releaseStale")).count());
        hold.countDown();
        c.stop();
    }

    @Test
    void stopWithdrawsFirstAndEndsTheReader() throws IOException {
        FakeHotplugFiles files = new FakeHotplugFiles();
        HotplugChannel c = started(files, (args, out, err) -> 0, new AtomicLong());
        c.stop();
        assertEquals(List.of("open", "withdraw", "close"), files.calls);
        files.requests.add("1.1 1 online vif1.0 backend/vif/1/0");
        assertFalse(files.replies.containsKey(1), "nothing read after stop");
    }
}
