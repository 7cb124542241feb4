/**
 * The per-guest firewall as others see it: {@link org.netvm.firewall.FirewallStatus}, registered by the
 * firewall bundle, says whether it is enforcing and which guests it blocks entirely, and why (read by
 * {@code netvm status}).
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package org.netvm.firewall;
