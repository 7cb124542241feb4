/**
 * Operator commands. A bundle registers a {@link org.netvm.control.ControlCommand} service to add a
 * subcommand to {@code netvm <name> ...} (through the control socket) and to Gogo.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package org.netvm.control;
