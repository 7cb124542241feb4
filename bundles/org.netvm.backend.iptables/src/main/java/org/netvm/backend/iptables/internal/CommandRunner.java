package org.netvm.backend.iptables.internal;

import java.io.IOException;
import java.util.List;

/**
 * Runs one program from an argument list (never through a shell) with some text on standard input.
 * The only way this bundle reaches the kernel; unit tests replace it with a fake.
 */
public interface CommandRunner {

    /**
     * What a finished process left behind.
     *
     * @param exitCode the exit status
     * @param stdout   standard output
     * @param stderr   standard error
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
     * @param stdin text fed to standard input (may be empty)
     * @throws IOException if the program could not be started, or did not finish in time
     */
    Result run(List<String> argv, String stdin) throws IOException;
}
