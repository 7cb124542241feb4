package org.netvm.kernel;

import org.netvm.kernel.internal.NetlinkKernel;

/** Opens a {@link Kernel} without OSGi (tools, real-kernel tests of other bundles). */
public final class Kernels {
    private Kernels() {
    }

    /**
     * A kernel bound to the named network namespace ({@code /var/run/netns/<netns>}), or to the
     * process's own namespace if {@code netns} is empty.
     *
     * @throws KernelException if the namespace cannot be entered or the netlink socket not opened
     */
    public static CloseableKernel open(String netns) throws KernelException {
        return NetlinkKernel.open(netns);
    }
}
