package org.netvm.dataplane.internal;

import org.netvm.kernel.Batch;
import org.netvm.kernel.Kernel;
import org.netvm.kernel.Sysctl;

/** {@link Forwarding} through the kernel seam (so it follows the runtime's network namespace). */
final class KernelForwarding implements Forwarding {
    private final Kernel kernel;

    KernelForwarding(Kernel kernel) {
        this.kernel = kernel;
    }

    @Override
    public Saved off() throws Exception {
        Saved s = new Saved(kernel.sysctl(Sysctl.ipv4Forward()) != 0, ipv6On());
        Batch b = new Batch();
        if (s.ipv4()) {
            b.setSysctl(Sysctl.ipv4Forward(), 0);
        }
        if (s.ipv6()) {
            b.setSysctl(Sysctl.ipv6Forwarding(), 0);
        }
        if (s.any()) {
            kernel.apply(b);
        }
        return s;
    }

    private boolean ipv6On() {
        try {
            return kernel.sysctl(Sysctl.ipv6Forwarding()) != 0;
        } catch (Exception e) {
            return false; // IPv6 disabled: nothing to switch
        }
    }

    @Override
    public void restore(Saved saved) throws Exception {
        Batch b = new Batch();
        if (saved.ipv4()) {
            b.setSysctl(Sysctl.ipv4Forward(), 1);
        }
        if (saved.ipv6()) {
            b.setSysctl(Sysctl.ipv6Forwarding(), 1);
        }
        if (saved.any()) {
            kernel.apply(b);
        }
    }
}
