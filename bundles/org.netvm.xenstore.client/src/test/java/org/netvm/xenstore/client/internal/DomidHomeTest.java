package org.netvm.xenstore.client.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.netvm.xenstore.Transaction;
import org.netvm.xenstore.Watch;
import org.netvm.xenstore.WatchListener;
import org.netvm.xenstore.XenStoreError;
import org.netvm.xenstore.XenStoreException;

/**
 * Issue 11 part 2, {@code --domid N everywhere}: a privileged connection to the real C xenstored,
 * configured with domid 5, resolves relative paths under {@code /local/domain/5} (not dom0's home),
 * and relative watches report relative paths, so components written for a guest's connection work
 * unchanged in a netvm that is domain 5.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DomidHomeTest {

    static final ClientOptions OPTIONS = new ClientOptions(Duration.ofMillis(20), Duration.ofMillis(200), Duration.ofSeconds(10));

    Path dir;
    long pid = -1;
    XenStoreClient vm5;
    XenStoreClient plain;

    @BeforeAll
    void start() throws Exception {
        dir = Files.createTempDirectory("netvm-domid-");
        Path socket = dir.resolve("socket");
        try {
            pid = HarnessDaemon.start(HarnessDaemon.C_XENSTORED, socket);
        } catch (Exception e) {
            Assumptions.abort("cannot start C xenstored: " + e.getMessage());
        }
        vm5 = XenStoreClient.connect(new UnixSocketTransport(socket), OPTIONS, 5);
        plain = XenStoreClient.connect(new UnixSocketTransport(socket), OPTIONS);
    }

    @AfterAll
    void stop() throws Exception {
        if (vm5 != null) {
            vm5.close();
            plain.close();
        }
        if (pid > 0) {
            HarnessDaemon.stop(pid);
        }
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @Test
    void relativePathsLandUnderTheVmsHome() throws Exception {
        vm5.write("qubes-netvm-primary-dns", "10.139.1.1");
        assertEquals("10.139.1.1", plain.read("/local/domain/5/qubes-netvm-primary-dns"));
        assertThrows(XenStoreException.class, () -> plain.read("/local/domain/0/qubes-netvm-primary-dns"),
                "not dom0's home");
        assertEquals("10.139.1.1", vm5.read("qubes-netvm-primary-dns"));
        vm5.mkdir("backend/vif/7/0");
        assertEquals(List.of("vif"), vm5.directory("backend"));
        assertEquals(List.of("0"), plain.directory("/local/domain/5/backend/vif/7"));
        assertEquals(0, vm5.getPermissions("backend").get(0).domid(), "privileged connection: owner dom0");
        vm5.rm("backend/vif/7");
        assertEquals(List.of(), vm5.directory("backend/vif"));
        assertEquals("10.139.1.1", vm5.read("/local/domain/5/qubes-netvm-primary-dns"), "absolute paths stay as given");
    }

    @Test
    void transactionsUseTheVmsHome() throws Exception {
        try (Transaction t = vm5.transaction()) {
            t.write("tx/a", "1");
            assertEquals("1", t.read("tx/a"));
            t.commit();
        }
        assertEquals("1", plain.read("/local/domain/5/tx/a"));
    }

    @Test
    void relativeWatchesReportRelativePathsAndAbsoluteOnesAbsolute() throws Exception {
        LinkedBlockingQueue<String> rel = new LinkedBlockingQueue<>();
        LinkedBlockingQueue<String> abs = new LinkedBlockingQueue<>();
        try (Watch w = vm5.watch("watched", listener(rel)); Watch a = vm5.watch("/local/domain/5/watched", listener(abs))) {
            assertEquals("watched", w.path());
            assertEquals(List.of("watched"), take(rel, 1), "the initial event");
            assertEquals(List.of("/local/domain/5/watched"), take(abs, 1));
            plain.write("/local/domain/5/watched/vif/x", "1");
            assertEquals(List.of("watched/vif/x"), take(rel, 1), "relative in, relative out");
            assertEquals(List.of("/local/domain/5/watched/vif/x"), take(abs, 1));
            plain.write("/local/domain/0/watched/y", "1");
            assertNull(rel.poll(300, TimeUnit.MILLISECONDS), "dom0's home is not watched");
        }
    }

    @Test
    void withoutADomidRelativePathsAreTheDaemonsAsBefore() throws Exception {
        plain.write("plain-relative", "dom0");
        assertEquals("dom0", plain.read("/local/domain/0/plain-relative"));
        XenStoreException e = assertThrows(XenStoreException.class, () -> vm5.read("plain-relative"));
        assertEquals(XenStoreError.ENOENT, e.error());
    }

    static WatchListener listener(LinkedBlockingQueue<String> q) {
        return q::add;
    }

    static List<String> take(LinkedBlockingQueue<String> q, int n) throws InterruptedException {
        List<String> out = new ArrayList<>();
        while (out.size() < n) {
            String s = q.poll(5, TimeUnit.SECONDS);
            if (s == null) {
                break;
            }
            out.add(s);
        }
        return out;
    }
}
