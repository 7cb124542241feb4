package org.netvm.dataplane.internal;

import java.util.Comparator;

import org.netvm.dataplane.BackendException;
import org.netvm.dataplane.PacketFilterBackend;

/** A registered backend; equal entries are the same service. Two entries with one name own the same objects. */
record BackendEntry(long serviceId, int ranking, String name, PacketFilterBackend backend) {
    /** Highest ranking first, then the oldest service. */
    static final Comparator<BackendEntry> ORDER = Comparator.comparingInt((BackendEntry b) -> -b.ranking)
            .thenComparingLong(BackendEntry::serviceId);

    /** Whatever a backend threw, as a {@link BackendException}. */
    static BackendException asBackendException(Exception e) {
        return e instanceof BackendException be ? be : new BackendException("backend error: " + e, "", e);
    }
}
