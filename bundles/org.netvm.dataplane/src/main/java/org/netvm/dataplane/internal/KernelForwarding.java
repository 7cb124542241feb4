package org.netvm.dataplane.internal;

import org.netvm.kernel.Batch;
import org.netvm.kernel.Kernel;
import org.netvm.kernel.Sysctl;

/** {@link ForwardingSysctls} through the kernel seam (so it follows the runtime's network namespace). */
final class KernelForwarding implements ForwardingSysctls {
    private final Kernel kernel;

    KernelForwarding(Kernel kernel) {
        this.kernel = kernel;
    }

    @Override
    public State read() throws Exception {
        return new State(kernel.sysctl(Sysctl.ipv4Forward()) != 0, ipv6On());
    }

    private boolean ipv6On() {
        try {
            return kernel.sysctl(Sysctl.ipv6Forwarding()) != 0;
        } catch (Exception e) {
            return false; // IPv6 disabled: nothing to switch
        }
    }

    @Override
    public void write(Boolean ipv4, Boolean ipv6) throws Exception {
        Batch b = new Batch();
        if (ipv4 != null) {
            b.setSysctl(Sysctl.ipv4Forward(), ipv4 ? 1 : 0);
        }
        if (ipv6 != null) {
            b.setSysctl(Sysctl.ipv6Forwarding(), ipv6 ? 1 : 0);
        }
        if (ipv4 != null || ipv6 != null) {
            kernel.apply(b);
        }
    }
}
