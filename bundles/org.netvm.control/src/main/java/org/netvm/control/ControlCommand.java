package org.netvm.control;

import java.io.PrintStream;
import java.util.List;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * A subcommand of the {@code netvm} CLI, served through the agent's control socket. Register it as a
 * service with the property {@link #NAME}; {@code netvm NAME args...} then calls {@link #run}.
 * Arguments arrive exactly as the user typed them (no shell, no splitting): treat them as untrusted.
 */
@ConsumerType
public interface ControlCommand {

    /** Service property: the subcommand's name, e.g. {@code xs}. */
    String NAME = "netvm.command";

    /** One line shown by {@code netvm help}. */
    String summary();

    /**
     * Runs the command; text goes to {@code out}, errors to {@code err}.
     *
     * @return the process exit status for the CLI: 0 success, 1 failure, 2 usage error
     */
    int run(List<String> args, PrintStream out, PrintStream err);
}
