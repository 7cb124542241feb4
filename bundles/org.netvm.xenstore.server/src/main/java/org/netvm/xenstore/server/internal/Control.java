package org.netvm.xenstore.server.internal;

import static org.netvm.xenstore.XenStoreError.EINVAL;

import org.netvm.xenstore.wire.Message;

/**
 * CONTROL, C's xenstored_control.c: only {@code check} (answered OK) is offered; log, quota,
 * memreport, live-update and the rest are EINVAL.
 */
final class Control {

    private Control() {
    }

    static void control(Session s, Message m) throws XsFailure {
        byte[] p = m.payload();
        int nul = Payloads.indexOfNul(p, 0);
        if (nul < 0) {
            throw new XsFailure(EINVAL);
        }
        if (!Payloads.latin1(p, 0, nul).equals("check")) {
            throw new XsFailure(EINVAL);
        }
        Payloads.ack(s, m);
    }
}
