package org.netvm.xenstore.server.internal;

import org.netvm.xenstore.wire.Message;

/** Where a connection's replies and watch events go, in order. Must not block for long. */
interface MessageSink {

    void send(Message message);

    /** Drops the connection (the domain was released); further sends are ignored. */
    void close();
}
