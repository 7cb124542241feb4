package org.netvm.dataplane.internal;

import java.io.PrintStream;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.UnaryOperator;

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
 *
 * <p>Lines are shown with symbolic names ({@link SymbolicNames}: {@code ct state established,related})
 * unless {@code --numeric} asks for the backend's canonical form as compared ({@code ct state 0x2,0x4}).
 * The comparison is always made in the canonical form; only the lines shown are translated.
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
        return "dry run: what the packet filter backend would own for the merged plan, and drift (--json, --numeric)";
    }

    static final String USAGE = """
            usage: netvm plan [--json] [--numeric]
              dry run: what the backend would own for the merged plan, and how the kernel differs
              --numeric  the backend's canonical form as compared (ct state 0x2,0x4, meta l4proto 17,
                         icmp type 8, priority 0) instead of names (ct state established,related, ...)
              --json     schema netvm.plan/2 (docs/cli-json.md)
            exit status: 0 the kernel holds the plan, 1 it differs or cannot be read, 2 usage""";

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) {
        if (args.size() == 1 && List.of("--help", "-h", "help").contains(args.get(0))) {
            out.println(USAGE);
            return 0;
        }
        boolean json = args.contains("--json");
        boolean numeric = args.contains("--numeric");
        if (args.size() != (json ? 1 : 0) + (numeric ? 1 : 0)) {
            err.println(USAGE);
            return 2;
        }
        try {
            BackendControl.DryRun d = control.dryRun().get(30, TimeUnit.SECONDS);
            out.print(json ? PlanJson.render(d, numeric) : render(d, numeric));
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
        return render(control.dryRun().get(30, TimeUnit.SECONDS), false); // the text also when the kernel differs
    }

    /** How a canonical line is shown: as it is ({@code numeric}) or with {@link SymbolicNames}. */
    static UnaryOperator<String> shown(boolean numeric) {
        return numeric ? UnaryOperator.identity() : SymbolicNames::line;
    }

    static String render(BackendControl.DryRun d, boolean numeric) {
        UnaryOperator<String> show = shown(numeric);
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
                .append(numeric ? " owns for this plan, in its canonical form:\n"
                        : " owns for this plan, with names (--numeric: the canonical form compared):\n");
        owned(d.expected(), show, out);
        if (d.actual() == null) {
            out.append("# read back failed: ").append(d.readBackError()).append('\n');
            return out.toString();
        }
        List<String> diff = d.expected().diff(d.actual());
        if (diff.isEmpty()) {
            out.append("# the kernel holds exactly this\n");
        } else {
            out.append("# the kernel differs (").append(diff.size()).append("; - missing, + unexpected):\n");
            List<String> shownDiff = diff.stream().map(show).toList();
            shownDiff.forEach(x -> out.append(x).append('\n'));
            if (!numeric && differOnlyInNumbers(shownDiff)) {
                out.append("# some lines differ only in their numeric form: netvm plan --numeric shows it\n");
            }
        }
        return out.toString();
    }

    /** A missing and an unexpected line that read the same once translated (e.g. {@code 6} and {@code tcp}). */
    static boolean differOnlyInNumbers(List<String> shownDiff) {
        Set<String> missing = new HashSet<>();
        shownDiff.stream().filter(x -> x.startsWith("- ")).forEach(x -> missing.add(x.substring(2)));
        return shownDiff.stream().anyMatch(x -> x.startsWith("+ ") && missing.contains(x.substring(2)));
    }

    private static void owned(OwnedState want, UnaryOperator<String> show, StringBuilder out) {
        want.chains().forEach((key, header) -> {
            out.append("chain ").append(key).append(" { ").append(show.apply(header)).append(" }\n");
            want.rules().getOrDefault(key, List.of())
                    .forEach(r -> out.append("    ").append(show.apply(r)).append('\n'));
        });
        want.rules().forEach((key, list) -> {
            if (!want.chains().containsKey(key)) {
                list.forEach(r -> out.append("rule ").append(key).append(": ").append(show.apply(r)).append('\n'));
            }
        });
        want.sets().forEach((key, header) -> {
            out.append("set ").append(key).append(" { ").append(show.apply(header)).append(" }\n");
            want.elements().getOrDefault(key, new TreeSet<>())
                    .forEach(e -> out.append("    ").append(show.apply(e)).append('\n'));
        });
    }
}
