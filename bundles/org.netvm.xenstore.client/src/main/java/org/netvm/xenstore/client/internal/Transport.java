package org.netvm.xenstore.client.internal;

import java.io.IOException;

/**
 * How the client reaches xenstored. {@link #connect()} is called again after every lost connection, so
 * a transport is a recipe, not a connection.
 */
public interface Transport {

    /** Opens a new connection; throws when the daemon cannot be reached right now. */
    Connection connect() throws IOException;

    /** The value of the {@code xenstore.transport} service property: {@code unix} or {@code xenbus}. */
    String name();

    /** The socket path or device, for the {@code xenstore.address} service property and logs. */
    String address();
}
