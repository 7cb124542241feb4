package org.netvm.util;

import java.io.IOException;
import java.util.List;

/**
 * Runs a program to completion: the seam every bundle that starts nft, iptables, ipset or conntrack
 * goes through (the real one is {@link SystemProcessRunner}; tests use a fake). An argument vector,
 * never a shell command line.
 */
@FunctionalInterface
public interface ProcessRunner {

    /**
     * What a finished process left behind.
     *
     * @param exitCode the exit status
     * @param stdout   standard output (UTF-8)
     * @param stderr   standard error (UTF-8)
     */
    record Result(int exitCode, String stdout, String stderr) {
        public boolean ok() {
            return exitCode == 0;
        }
    }

    /**
     * Runs {@code argv} to completion.
     *
     * @param argv  the program and its arguments, one element each
     * @param stdin text fed to standard input as UTF-8 (may be empty)
     * @throws IOException if the program could not be started, did not finish in time or wrote more
     *                     than the runner keeps
     */
    Result run(List<String> argv, String stdin) throws IOException;

}
