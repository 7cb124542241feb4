/**
 * XenStore access as an OSGi service.
 *
 * <p>{@link org.netvm.xenstore.XenStore} is registered by the client bundle once it is connected to a
 * xenstored (the real C or OCaml daemon, or netvm's embedded one). Paths are absolute
 * ({@code /local/domain/5/name}) or relative; relative paths are resolved by the daemon against the
 * calling domain's home ({@code /local/domain/<domid>}). Errors carry the daemon's error name.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.2.0")
package org.netvm.xenstore;
