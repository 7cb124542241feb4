package org.netvm.vif.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.Test;

class KernelConntrackTest {
    private static final InetAddress A = FakeKernel.addr("10.137.0.5");
    private static final InetAddress A6 = FakeKernel.addr("fd09:24ef:4179::a89:5");

    @Test
    void onePurgeIsOneDeleteOfAllItsAddresses() throws Exception {
        FakeKernel k = new FakeKernel(new CopyOnWriteArrayList<>());
        new KernelConntrack(k).purge(List.of(A, A6));
        assertEquals(List.of(List.of(A, A6)), k.conntrack.deletes);
    }

    @Test
    void nothingToPurgeTouchesNothing() throws Exception {
        FakeKernel k = new FakeKernel(new CopyOnWriteArrayList<>());
        new KernelConntrack(k).purge(List.of());
        assertEquals(List.of(), k.conntrack.deletes);
    }

    /** Issue 11 #5: a purge the kernel refused fails naming every address, so no vif of theirs comes up. */
    @Test
    void issue11AKernelFailureFailsThePurgeNamingItsAddresses() {
        FakeKernel k = new FakeKernel(new CopyOnWriteArrayList<>());
        k.conntrack.failWith = "conntrack delete: EPERM";
        Conntrack.PurgeException e = assertThrows(Conntrack.PurgeException.class,
                () -> new KernelConntrack(k).purge(List.of(A, A6)));
        assertEquals(Set.of(A, A6), e.failed());
        assertTrue(e.getMessage().startsWith("conntrack purge of 10.137.0.5 fd09:24ef:4179::a89:5 failed: "), e.getMessage());
    }

    /** A kernel seam without conntrack access fails every purge (fail closed), it does not skip it. */
    @Test
    void aKernelWithoutConntrackAccessFailsEveryPurge() {
        FakeKernel plain = new FakeKernel(new CopyOnWriteArrayList<>());
        plain.noConntrack = true;
        Conntrack.PurgeException e = assertThrows(Conntrack.PurgeException.class,
                () -> new KernelConntrack(plain).purge(List.of(A)));
        assertEquals(Set.of(A), e.failed());
    }

}
