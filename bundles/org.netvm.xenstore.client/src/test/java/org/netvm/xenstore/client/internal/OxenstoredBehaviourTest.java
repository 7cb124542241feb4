package org.netvm.xenstore.client.internal;

import java.nio.file.Path;
import java.util.Set;

import org.netvm.xenstore.XenStoreError;

/**
 * The behaviour suite against the real OCaml oxenstored (Xen 4.17) of the test harness. Its socket path
 * is compiled in; the harness shim redirects the bind to ours (oxenstored still creates
 * /var/run/xenstored).
 */
class OxenstoredBehaviourTest extends XenStoreBehaviourSuite {

    private long pid = -1;

    @Override
    protected void startServer(Path socket) throws Exception {
        pid = HarnessDaemon.start(HarnessDaemon.OXENSTORED, socket);
    }

    @Override
    protected void stopServer() throws Exception {
        if (pid > 0) {
            HarnessDaemon.stop(pid);
            pid = -1;
        }
    }

    /** oxenstored's default quota-maxsize applies to socket (dom0) clients too; the C daemon exempts dom0. */
    @Override
    protected int largestValue(String path) {
        return Math.min(2048, super.largestValue(path));
    }

    /** oxenstored answers an unknown transaction id with EIO (the C daemon: ENOENT). */
    @Override
    protected Set<XenStoreError> unknownTransactionErrors() {
        return Set.of(XenStoreError.EIO);
    }
}
