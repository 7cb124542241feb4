package org.netvm.kernel.internal;

import org.netvm.kernel.KernelException;

/**
 * A failed libc call as the kernel seam reports it. The calls themselves (socket, bind, setsockopt,
 * sendto, recv, close, if_nametoindex: FFM downcalls with errno captured per thread) are
 * {@code org.netvm.util.SocketCalls}, shared with the nftables backend's netfilter socket.
 */
final class Libc {
    private Libc() {
    }

    /** A KernelException for a failed call, naming the call and errno. */
    static KernelException failure(String what, int errno) {
        return new KernelException(what + ": " + Errno.name(errno) + " (" + Errno.text(errno) + ")", errno,
                Errno.name(errno), null);
    }
}
