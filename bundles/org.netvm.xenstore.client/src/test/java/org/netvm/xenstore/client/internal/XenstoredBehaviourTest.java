package org.netvm.xenstore.client.internal;

import java.nio.file.Path;

/** The behaviour suite against the real C xenstored (Xen 4.17) of the test harness. */
class XenstoredBehaviourTest extends XenStoreBehaviourSuite {

    private long pid = -1;

    @Override
    protected void startServer(Path socket) throws Exception {
        pid = HarnessDaemon.start(HarnessDaemon.C_XENSTORED, socket);
    }

    @Override
    protected void stopServer() throws Exception {
        if (pid > 0) {
            HarnessDaemon.stop(pid);
            pid = -1;
        }
    }
}
