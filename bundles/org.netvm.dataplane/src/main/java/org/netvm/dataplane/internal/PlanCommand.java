package org.netvm.dataplane.internal;

import java.io.PrintStream;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.netvm.control.ControlCommand;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * {@code netvm plan} and the Gogo command {@code netvm:plan}: a dry run. Prints the merged plan as the
 * backend in charge would own it (its canonical read-back form, {@code PacketFilterBackend.expected})
 * and how the kernel differs from it now ({@code OwnedState.diff} against {@code readBack()}).
 */
@Component(service = ControlCommand.class, property = {ControlCommand.NAME + "=plan",
        "osgi.command.scope=netvm", "osgi.command.function=plan"})
public final class PlanCommand implements ControlCommand {

    private final BackendControl control;

    @Activate
    public PlanCommand(@Reference BackendControl control) {
        this.control = control;
    }

    @Override
    public String summary() {
        return "dry run: what the packet filter backend would own for the merged plan, and drift";
    }

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) {
        if (!args.isEmpty()) {
            err.println("usage: netvm plan");
            return 2;
        }
        try {
            out.print(control.dryRun().get(30, TimeUnit.SECONDS));
            return 0;
        } catch (ExecutionException e) {
            err.println("plan: " + e.getCause());
        } catch (TimeoutException e) {
            err.println("plan: the reconciler did not answer within 30 s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            err.println("plan: interrupted");
        }
        return 1;
    }

    /** Gogo: {@code netvm:plan}. */
    @org.apache.felix.service.command.Descriptor("dry run: what the active backend would hold, and the diff to the kernel")
    public String plan() {
        return ControlText.run(this, List.of());
    }
}
