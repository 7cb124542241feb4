package org.netvm.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.netvm.control.ControlCommand;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.junit5.context.BundleContextExtension;
import org.junit.jupiter.api.extension.ExtendWith;

/** The control socket answers the CLI, and a command registered by any bundle becomes a subcommand. */
@ExtendWith(BundleContextExtension.class)
class ControlSocketTest {

    @InjectBundleContext
    BundleContext context;

    @Test
    void aRegisteredCommandIsReachableThroughTheSocketAndGoneAfterUnregistering() throws Exception {
        Path socket = Path.of(context.getProperty("netvm.control"));
        Cli.waitFor(socket);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)));

        ServiceRegistration<ControlCommand> reg = context.registerService(ControlCommand.class, new ControlCommand() {
            @Override
            public String summary() {
                return "echo its arguments";
            }

            @Override
            public int run(List<String> args, PrintStream out, PrintStream err) {
                out.println(String.join("|", args));
                err.println("to stderr");
                return 7;
            }
        }, Cli.props(ControlCommand.NAME, "echo"));
        try {
            Cli.Result r = Cli.run(socket, "echo", "a b", "$(touch /tmp/x)", "ü");
            assertEquals(7, r.status());
            assertEquals("a b|$(touch /tmp/x)|ü\n", r.out());
            assertEquals("to stderr\n", r.err());
            assertTrue(Cli.run(socket, "help").out().contains("echo its arguments"));
        } finally {
            reg.unregister();
        }
        Cli.Result gone = Cli.run(socket, "echo", "x");
        assertEquals(2, gone.status());
        assertTrue(gone.err().contains("unknown command 'echo'"), gone.err());
    }
}
