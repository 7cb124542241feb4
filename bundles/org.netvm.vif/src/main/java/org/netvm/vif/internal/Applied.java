package org.netvm.vif.internal;

/** What the reconciler programmed for a vif, and on which device instance. */
record Applied(VifSpec spec, int ifindex) {
}
