/**
 * The vifs (guest network interfaces) of a netvm, as the vif bundle sees and programs them.
 *
 * <p>{@link org.netvm.vif.VifRegistry} is the status view: per vif, what is desired (from xenstore,
 * the kernel's link and the Xen hotplug script) and what is actually programmed, with the error of a
 * vif that failed. {@link org.netvm.vif.VifHook} is the extension point run after a vif came online
 * or went offline (the equivalent of Qubes' {@code /etc/qubes/network-hooks.d}).
 *
 * <p>For third-party bundles: implement {@link org.netvm.vif.VifHook} and register it as a service (a DS
 * {@code @Component} is enough); import this package only. {@code docs/extending.md} walks through a
 * complete example bundle ({@code bundles/org.netvm.example.accounting}).
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.1.0")
package org.netvm.vif;
