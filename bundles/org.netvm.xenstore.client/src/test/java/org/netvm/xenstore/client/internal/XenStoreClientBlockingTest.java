package org.netvm.xenstore.client.internal;

/** {@link XenStoreClientTest} over a blocking connection (the xenbus device's way): only the I/O thread reads. */
class XenStoreClientBlockingTest extends XenStoreClientTest {

    @Override
    FakeDaemon newDaemon() {
        return new FakeDaemon(false);
    }
}
