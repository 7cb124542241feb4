package org.netvm.testing.xenstore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.Test;
import org.netvm.xenstore.Watch;
import org.netvm.xenstore.XenStoreError;
import org.netvm.xenstore.XenStoreException;

class FakeXenStoreTest {
    private final FakeXenStore xs = new FakeXenStore();
    private final List<String> events = new CopyOnWriteArrayList<>();

    @Test
    void watchesFireWhenSetAndForChangesAtOrBelowTheirPath() throws Exception {
        Watch w = xs.watch("backend/vif", events::add);
        xs.putVif(3, 0, "10.137.0.5", null);
        xs.write("backend/vif/3/0/hotplug-status", "connected");
        xs.put("backend/vifx", "not below");
        xs.remove("backend/vif/3");
        assertEquals(List.of("backend/vif", "backend/vif/3/0", "backend/vif/3/0/hotplug-status", "backend/vif/3"), events);
        assertEquals(List.of("backend/vif/3/0/hotplug-status=connected"), xs.writes());
        w.close();
        assertEquals(List.of(), xs.watchedPaths());
    }

    @Test
    void readsDirectoriesAndFailures() throws Exception {
        xs.putVif(3, 0, "10.137.0.5", "00:16:3e:5e:6c:00");
        assertEquals("", xs.read("backend/vif/3"));
        assertEquals(List.of("ip", "mac"), xs.directory("backend/vif/3/0"));
        assertEquals(XenStoreError.ENOENT, assertThrows(XenStoreException.class, () -> xs.read("nope")).error());
        xs.failReads(true);
        assertEquals(XenStoreError.EIO, assertThrows(XenStoreException.class, () -> xs.read("backend/vif/3/0/ip")).error());
    }

    @Test
    void firingCanBeTurnedOffButByHandAlwaysDelivers() throws Exception {
        xs.watch("qubes-ip", events::add);
        xs.fireWatches(false);
        xs.put("qubes-ip", "10.137.0.5");
        xs.fire("qubes-ip");
        assertEquals(List.of("qubes-ip", "qubes-ip"), events);
    }

    @Test
    void transactionsApplyAtCommitOnly() throws Exception {
        xs.inTransaction(1, tx -> {
            tx.write("a", "1");
            assertTrue(xs.readIfExists("a").isEmpty());
            return null;
        });
        assertEquals("1", xs.read("a"));
    }
}
