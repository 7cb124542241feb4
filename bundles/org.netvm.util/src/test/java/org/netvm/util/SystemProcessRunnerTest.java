package org.netvm.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;

class SystemProcessRunnerTest {
    private final SystemProcessRunner runner = new SystemProcessRunner(Duration.ofSeconds(10), 1000, 1000);

    @Test
    void feedsStdinAndCapturesOutputAndStatusWithoutAShell() throws IOException {
        ProcessRunner.Result r = runner.run(List.of("cat"), "a line; $(not run)\n");
        assertTrue(r.ok());
        assertEquals("a line; $(not run)\n", r.stdout());
        ProcessRunner.Result failed = runner.run(List.of("ls", "/no/such/path"), "");
        assertFalse(failed.ok());
        assertFalse(failed.stderr().isEmpty());
    }

    @Test
    void failsOnTooMuchOutputOnTimeoutAndOnAMissingProgram() {
        assertThrows(IOException.class, () -> runner.run(List.of("head", "-c", "5000", "/dev/zero"), ""));
        SystemProcessRunner quick = new SystemProcessRunner(Duration.ofMillis(200));
        assertThrows(IOException.class, () -> quick.run(List.of("sleep", "5"), ""));
        assertThrows(IOException.class, () -> runner.run(List.of("/no/such/program"), ""));
    }
}
