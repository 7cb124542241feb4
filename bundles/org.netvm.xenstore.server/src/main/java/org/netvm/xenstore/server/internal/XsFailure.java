package org.netvm.xenstore.server.internal;

import org.netvm.xenstore.XenStoreError;

/** A request fails with an xenstore error name; cheap (no stack trace), used for control flow. */
final class XsFailure extends Exception {
    private static final long serialVersionUID = 1L;

    final XenStoreError error;

    XsFailure(XenStoreError error) {
        super(error.name(), null, false, false);
        this.error = error;
    }
}
