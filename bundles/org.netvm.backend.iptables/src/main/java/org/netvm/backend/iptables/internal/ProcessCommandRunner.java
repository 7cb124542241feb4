package org.netvm.backend.iptables.internal;

import java.io.IOException;
import java.time.Duration;
import java.util.List;

import org.netvm.util.SystemProcessRunner;

/** The real {@link SystemProcessRunner} as a {@link CommandRunner}, for the tests' netns fixtures. */
public final class ProcessCommandRunner implements CommandRunner {
    private final SystemProcessRunner runner;

    public ProcessCommandRunner(Duration timeout) {
        this.runner = new SystemProcessRunner(timeout);
    }

    @Override
    public Result run(List<String> argv, String stdin) throws IOException {
        return runner.run(argv, stdin);
    }
}
