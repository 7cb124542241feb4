package org.netvm.xenstore.client.internal;

import java.nio.file.Path;

import org.netvm.xenstore.server.internal.EmbeddedXenstored;

/** The same behaviour suite against netvm's embedded xenstored (bundle org.netvm.xenstore.server). */
class EmbeddedBehaviourTest extends XenStoreBehaviourSuite {

    private EmbeddedXenstored server;

    @Override
    protected void startServer(Path socket) throws Exception {
        server = EmbeddedXenstored.start(socket, org.netvm.xenstore.server.internal.Options.defaults());
    }

    @Override
    protected void stopServer() throws Exception {
        if (server != null) {
            server.close();
            server = null;
        }
    }
}
