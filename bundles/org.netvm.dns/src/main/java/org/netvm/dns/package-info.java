/**
 * Where the netvm's upstream nameservers come from: the {@link org.netvm.dns.NameserverSource}
 * whiteboard.
 *
 * <p>The DNS feature maps the virtual DNS addresses guests query (DNS1/DNS2, by default
 * {@code 10.139.1.1} and {@code 10.139.1.2}) onto the upstream nameservers of exactly one source: the
 * registered {@code NameserverSource} service with the highest {@code service.ranking} (on a tie, the
 * lowest {@code service.id}). netvm's built-in source ({@code /etc/resolv.conf}, or systemd-resolved's
 * upstream list while it runs) is registered with ranking {@value org.netvm.dns.NameserverSource#BUILTIN_RANKING},
 * so a VPN or DNS-over-HTTPS bundle takes over simply by registering a source with any higher ranking,
 * and hands back by unregistering it.
 *
 * <p>{@link org.netvm.dns.UpstreamListener} (since 1.1): a whiteboard of listeners told which upstreams
 * DNS1/DNS2 are mapped onto whenever that changes.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.1.0")
package org.netvm.dns;
