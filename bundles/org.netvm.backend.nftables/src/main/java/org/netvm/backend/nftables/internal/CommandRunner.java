package org.netvm.backend.nftables.internal;

import java.io.IOException;
import java.util.List;

/** Runs one process from an argument list (no shell), feeding it {@code stdin}. The seam tests fake. */
public interface CommandRunner {

    /** What a finished process left. */
    record Result(int exitCode, String stdout, String stderr) {
        public boolean ok() {
            return exitCode == 0;
        }
    }

    /**
     * Runs {@code argv} to completion.
     *
     * @param argv  program and arguments, each one element
     * @param stdin text for standard input, or empty
     * @throws IOException if the process could not be started or timed out
     */
    Result run(List<String> argv, String stdin) throws IOException;
}
