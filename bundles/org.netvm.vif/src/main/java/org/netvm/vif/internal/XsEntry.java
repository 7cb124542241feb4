package org.netvm.vif.internal;

/**
 * The raw xenstore values of one vif's backend directory, exactly as read (hostile until validated).
 *
 * @param vif the vif the directory {@code <base>/<domid>/<devid>} names
 * @param ip  the {@code ip} value, {@code null} if absent
 * @param mac the {@code mac} value, {@code null} if absent
 */
record XsEntry(VifName vif, String ip, String mac) {
}
