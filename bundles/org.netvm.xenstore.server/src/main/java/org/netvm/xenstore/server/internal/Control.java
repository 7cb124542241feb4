package org.netvm.xenstore.server.internal;

import static org.netvm.xenstore.XenStoreError.EINVAL;
import static org.netvm.xenstore.XenStoreError.ENOENT;

import java.util.List;
import java.util.logging.Level;
import java.util.logging.Logger;

import org.netvm.xenstore.wire.Message;

/**
 * CONTROL, C's xenstored_control.c: the debug verbs that make sense for an in-memory daemon, answered
 * as C xenstored 4.17 answers them: {@code check} (OK), {@code print <string>} (logged, OK),
 * {@code help} (the verbs), {@code quota} (the quotas), {@code quota <domid>} (a domain's usage) and
 * {@code quota-soft}. Not offered (EINVAL): {@code log} and {@code logfile} (there is no trace log),
 * {@code memreport} (no talloc), {@code live-update}, and changing quotas ({@code quota set}).
 * Privileged connections only (checked by the core).
 */
final class Control {

    private static final Logger LOG = Logger.getLogger(Control.class.getName());

    private static final String HELP = """
            check\t
            print\t<string>
            quota\t[<domid>]
            quota-soft\t
            help\t
            """;

    private final Quotas quotas;
    private final Domains domains;

    Control(Quotas quotas, Domains domains) {
        this.quotas = quotas;
        this.domains = domains;
    }

    void control(Session s, Message m) throws XsFailure {
        List<String> v = Payloads.strings(m);
        if (v.isEmpty()) {
            throw new XsFailure(EINVAL);
        }
        List<String> args = v.subList(1, v.size());
        String answer = switch (v.get(0)) {
            case "check" -> noArgs(args, null);
            case "help" -> noArgs(args, HELP);
            case "print" -> print(args);
            case "quota" -> quota(args);
            case "quota-soft" -> noArgs(args, "Quota settings:\n" + setting("memory", quotas.memorySoft(),
                    "Total Xenstore memory per domain (warning level)"));
            default -> throw new XsFailure(EINVAL);
        };
        if (answer == null) {
            Payloads.ack(s, m);
        } else {
            Payloads.reply(s, m, Payloads.text(answer));
        }
    }

    private static String noArgs(List<String> args, String answer) throws XsFailure {
        if (!args.isEmpty()) {
            throw new XsFailure(EINVAL);
        }
        return answer;
    }

    private static String print(List<String> args) throws XsFailure {
        if (args.size() != 1) {
            throw new XsFailure(EINVAL);
        }
        LOG.log(Level.INFO, "control: {0}", printable(args.get(0)));
        return null;
    }

    /** The text with control characters shown as '?', so a log line stays one line. */
    static String printable(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            b.append(c < 0x20 || c == 0x7f ? '?' : c);
        }
        return b.toString();
    }

    private String quota(List<String> args) throws XsFailure {
        if (args.isEmpty()) {
            return "Quota settings:\n"
                    + setting("nodes", quotas.maxEntries(), "Nodes per domain")
                    + setting("watches", quotas.maxWatches(), "Watches per domain")
                    + setting("transactions", quotas.maxTransactions(), "Transactions per domain")
                    + setting("outstanding", quotas.maxOutstanding(), "Outstanding requests per domain")
                    + setting("transaction-nodes", quotas.maxTransactionNodes(), "Max. number of accessed nodes per transaction")
                    + setting("memory", quotas.memoryHard(), "Total Xenstore memory per domain (error level)")
                    + setting("node-size", quotas.maxEntrySize(), "Max. size of a node")
                    + setting("path-max", quotas.maxPathLength(), "Max. length of a node path")
                    + setting("permissions", quotas.maxPermsPerNode(), "Max. number of permissions per node")
                    + setting("connections", quotas.maxConnections(), "Connections per domain (netvm)");
        }
        if (args.size() != 1) {
            throw new XsFailure(EINVAL); // "quota set <name> <val>": quotas are configuration here
        }
        Domains.Domain d = domains.get(XsPaths.atoi(args.get(0)));
        if (d == null || !d.introduced) {
            throw new XsFailure(ENOENT);
        }
        DomainAccount a = d.account;
        return "Domain " + d.domid + ":\n"
                + usage("nodes", d.entries)
                + usage("watches", d.watches)
                + usage("transactions", d.transactions)
                + usage("outstanding", a.outstanding())
                + usage("memory", a.memory())
                + usage("connections", a.connections());
    }

    private static String setting(String name, long value, String what) {
        return String.format("%-17s: %8d %s\n", name, value, what);
    }

    private static String usage(String name, long value) {
        return String.format("%-16s: %8d\n", name, value);
    }
}
