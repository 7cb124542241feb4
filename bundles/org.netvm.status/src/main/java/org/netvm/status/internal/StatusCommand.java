package org.netvm.status.internal;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Supplier;

import org.netvm.control.ControlCommand;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * {@code netvm status [--json]} and the Gogo command {@code netvm:status [--json]}: desired versus
 * actual per guest, the dataplane, the xenstore connection and the verdict. Exit status 0 when in
 * sync, 1 when degraded (so scripts can test it), 2 on a usage error.
 */
@Component(service = ControlCommand.class, property = {ControlCommand.NAME + "=status",
        "osgi.command.scope=netvm", "osgi.command.function=status"})
public final class StatusCommand implements ControlCommand {

    static final String USAGE = "usage: netvm status [--json]";

    private final Supplier<StatusReport> reports;
    private final Supplier<ProcessFacts> process;

    @Activate
    public StatusCommand(@Reference StatusCollector collector) {
        this(collector::report, ProcessFacts::current);
    }

    /** Without the process line (the golden texts of the report alone). */
    StatusCommand(Supplier<StatusReport> reports) {
        this(reports, () -> null);
    }

    StatusCommand(Supplier<StatusReport> reports, Supplier<ProcessFacts> process) {
        this.reports = reports;
        this.process = process;
    }

    @Override
    public String summary() {
        return "desired vs actual per guest, dataplane and xenstore, and a verdict (--json for scripts)";
    }

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) {
        boolean json;
        if (args.isEmpty()) {
            json = false;
        } else if (args.equals(List.of("--json"))) {
            json = true;
        } else {
            err.println(USAGE);
            return 2;
        }
        StatusReport r = reports.get();
        ProcessFacts p = process.get();
        if (json) {
            out.println(StatusJson.render(r, p, true));
        } else {
            out.print(StatusText.render(r));
            if (p != null) {
                out.println(StatusText.process(p, r.time()));
            }
        }
        return r.inSync() ? 0 : 1;
    }

    /** Gogo: {@code netvm:status [--json]}; prints the status whatever the verdict. */
    @org.apache.felix.service.command.Descriptor("in-sync or degraded (and why), per guest desired vs actual; --json for the documented JSON")
    public String status(@org.apache.felix.service.command.Descriptor("[--json]") String... args) {
        var out = new ByteArrayOutputStream();
        var err = new ByteArrayOutputStream();
        int rc;
        try (var o = new PrintStream(out, true, StandardCharsets.UTF_8);
                var e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            rc = run(List.of(args), o, e);
        }
        if (rc == 2) {
            throw new IllegalArgumentException(err.toString(StandardCharsets.UTF_8).strip());
        }
        return out.toString(StandardCharsets.UTF_8);
    }
}
