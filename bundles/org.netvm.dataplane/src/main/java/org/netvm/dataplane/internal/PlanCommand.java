package org.netvm.dataplane.internal;

import java.io.PrintStream;
import java.util.List;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.netvm.control.ControlCommand;
import org.netvm.dataplane.OwnedState;
import org.netvm.dataplane.Plan;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * {@code netvm plan} and the Gogo command {@code netvm:plan}: a dry run. Prints the merged plan as the
 * backend in charge would own it (its canonical read-back form, {@code PacketFilterBackend.expected})
 * and how the kernel differs from it now ({@code OwnedState.diff} against {@code readBack()}). The
 * reconciler answers the question on its thread ({@link BackendControl#dryRun()}); the text is made here,
 * the JSON ({@code --json}) in {@link PlanJson}. Exit status 1 when the kernel differs (or cannot be read).
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
        boolean json = args.equals(List.of("--json"));
        if (!args.isEmpty() && !json) {
            err.println("usage: netvm plan [--json]   (exit 0: the kernel holds the plan; 1: it differs or cannot be read)");
            return 2;
        }
        try {
            BackendControl.DryRun d = control.dryRun().get(30, TimeUnit.SECONDS);
            out.print(json ? PlanJson.render(d) : render(d));
            return kernelHoldsPlan(d) ? 0 : 1;
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

    /** Exit status 0 only when a backend is there, its read-back worked and the kernel holds the plan. */
    static boolean kernelHoldsPlan(BackendControl.DryRun d) {
        return d.backend() != null && d.actual() != null && d.expected().diff(d.actual()).isEmpty();
    }

    /** Gogo: {@code netvm:plan}. */
    @org.apache.felix.service.command.Descriptor("dry run: what the active backend would hold, and the diff to the kernel")
    public String plan() throws Exception {
        return render(control.dryRun().get(30, TimeUnit.SECONDS)); // the text also when the kernel differs
    }

    static String render(BackendControl.DryRun d) {
        Plan plan = d.plan();
        StringBuilder out = new StringBuilder();
        int rules = plan.rules().values().stream().mapToInt(List::size).sum();
        int elements = plan.elements().values().stream().mapToInt(SortedSet::size).sum();
        out.append("# plan: ").append(d.contributions()).append(" contribution(s), ").append(d.leftOut().size())
                .append(" left out, ").append(plan.chains().size()).append(" chain(s), ").append(rules)
                .append(" rule(s), ").append(plan.sets().size()).append(" set(s), ").append(elements)
                .append(" element(s)\n");
        d.leftOut().forEach((owner, why) -> out.append("# left out: ").append(owner).append(": ").append(why).append('\n'));
        if (d.backend() == null) {
            out.append("# no backend named ").append(d.requested()).append(" is registered; the plan as data:\n");
            plan.chains().forEach(c -> out.append(c).append('\n'));
            plan.rules().forEach((ref, list) -> list.forEach(r -> out.append(r).append('\n')));
            plan.sets().forEach(x -> out.append(x).append('\n'));
            plan.elements().forEach((ref, els) -> out.append(ref).append(' ').append(els).append('\n'));
            return out.toString();
        }
        out.append("# what ").append(d.backend()).append(d.inCharge() ? " (in charge)" : " (not in charge)")
                .append(" owns for this plan, in its canonical form:\n");
        owned(d.expected(), out);
        if (d.actual() == null) {
            out.append("# read back failed: ").append(d.readBackError()).append('\n');
            return out.toString();
        }
        List<String> diff = d.expected().diff(d.actual());
        if (diff.isEmpty()) {
            out.append("# the kernel holds exactly this\n");
        } else {
            out.append("# the kernel differs (").append(diff.size()).append("; - missing, + unexpected):\n");
            diff.forEach(x -> out.append(x).append('\n'));
        }
        return out.toString();
    }

    private static void owned(OwnedState want, StringBuilder out) {
        want.chains().forEach((key, header) -> {
            out.append("chain ").append(key).append(" { ").append(header).append(" }\n");
            want.rules().getOrDefault(key, List.of()).forEach(r -> out.append("    ").append(r).append('\n'));
        });
        want.rules().forEach((key, list) -> {
            if (!want.chains().containsKey(key)) {
                list.forEach(r -> out.append("rule ").append(key).append(": ").append(r).append('\n'));
            }
        });
        want.sets().forEach((key, header) -> {
            out.append("set ").append(key).append(" { ").append(header).append(" }\n");
            want.elements().getOrDefault(key, new TreeSet<>()).forEach(e -> out.append("    ").append(e).append('\n'));
        });
    }
}
