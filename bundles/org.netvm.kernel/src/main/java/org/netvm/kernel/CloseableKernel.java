package org.netvm.kernel;

import org.osgi.annotation.versioning.ProviderType;

/** A {@link Kernel} owned by its caller (see {@link Kernels#open(String)}): closing it releases its sockets and thread. */
@ProviderType
public interface CloseableKernel extends Kernel, AutoCloseable {
    /** Closes the netlink socket, the namespace thread and all link subscriptions. */
    @Override
    void close();
}
