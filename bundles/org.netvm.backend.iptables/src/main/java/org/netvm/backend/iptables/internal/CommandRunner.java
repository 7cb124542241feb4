package org.netvm.backend.iptables.internal;

import org.netvm.util.ProcessRunner;

/**
 * The process seam under its former name: the tests' fakes and netns fixtures implement it (until they
 * move to org.netvm.testing); main code takes any {@link ProcessRunner}.
 */
@FunctionalInterface
public interface CommandRunner extends ProcessRunner {
}
