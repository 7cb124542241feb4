package org.netvm.dataplane.internal;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

import org.netvm.kernel.CloseableKernel;
import org.netvm.kernel.Kernels;
import org.netvm.util.SystemProcessRunner;

/**
 * {@code netvm forwarding prestart}: the agent unit's {@code ExecStartPre}, run before the agent and
 * without it (plain Java, no framework). It makes the agent's own start-up decision
 * ({@link IpForwarding#switchOffUnlessInForce}) a moment earlier, before {@code network-pre.target}:
 * forwarding found on stays on only if netvm's rules are still in force (a restart: the backends'
 * tables or chains of the configured prefixes exist, or the marker of this boot and namespace is
 * there); otherwise IPv4 and IPv6 forwarding are switched off until the agent's policy is applied.
 *
 * <p>Usage: {@code prestart [--marker-dir DIR] [--nft-table-prefix P] [--iptables-chain-prefix P]}
 * (defaults: {@code /run/netvm}, {@code netvm}, {@code NETVM-}, the backends' defaults). Exit status 0,
 * also when a tool is missing; 2 on a bad argument; 1 if forwarding could not be read or written.
 */
public final class ForwardingPrestart {
    private static final Pattern NFT_PREFIX = Pattern.compile("[A-Za-z][A-Za-z0-9_-]{0,20}");
    private static final Pattern IPT_PREFIX = Pattern.compile("[A-Za-z][A-Za-z0-9_-]{0,11}");

    /** Runs a tool; whether it exited 0. A missing tool is an IOException. */
    interface Tool {
        boolean succeeds(List<String> argv) throws IOException, InterruptedException;
    }

    /** The parsed arguments. */
    record Options(Path markerDir, String nftTablePrefix, String iptablesChainPrefix) {
        static Options parse(List<String> args) {
            Path dir = Path.of("/run/netvm");
            String nft = "netvm";
            String ipt = "NETVM-";
            for (int i = 0; i < args.size(); i += 2) {
                if (i + 1 >= args.size()) {
                    throw new IllegalArgumentException(args.get(i) + " needs a value");
                }
                String v = args.get(i + 1);
                switch (args.get(i)) {
                    case "--marker-dir" -> dir = Path.of(v);
                    case "--nft-table-prefix" -> nft = checked(NFT_PREFIX, v, "nft table prefix");
                    case "--iptables-chain-prefix" -> ipt = checked(IPT_PREFIX, v, "iptables chain prefix");
                    default -> throw new IllegalArgumentException("unknown option " + printable(args.get(i)));
                }
            }
            return new Options(dir, nft, ipt);
        }

        /** Untrusted text for a message: printable ASCII only, at most 40 chars (no control bundle needed). */
        private static String printable(String s) {
            String kept = s.codePoints().limit(40).map(c -> c >= 0x20 && c < 0x7f ? c : '?')
                    .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString();
            return "'" + kept + (s.length() > 40 ? "...'" : "'");
        }

        private static String checked(Pattern p, String v, String what) {
            if (!p.matcher(v).matches()) {
                throw new IllegalArgumentException(what + " must match " + p + ": " + printable(v));
            }
            return v;
        }
    }

    private ForwardingPrestart() {
    }

    public static void main(String[] args) {
        Options o;
        try {
            o = Options.parse(List.of(args));
        } catch (IllegalArgumentException e) {
            System.err.println("netvm forwarding prestart: " + e.getMessage());
            System.exit(2);
            return;
        }
        int rc;
        try (CloseableKernel kernel = Kernels.open("")) {
            rc = run(o, new KernelForwarding(kernel), new FileForwardingMarker(o.markerDir()), ForwardingPrestart::exec,
                    System.err);
        } catch (Exception e) {
            System.err.println("netvm forwarding prestart: cannot open the kernel seam: " + e);
            rc = 1;
        }
        System.exit(rc);
    }

    /** The decision, with its seams; messages go to {@code out}. */
    static int run(Options o, ForwardingSysctls sysctls, ForwardingMarker marker, Tool tool, PrintStream out) {
        List<IpForwarding.RulesProbe> probes = new ArrayList<>();
        probes.add(probe("nftables table inet " + o.nftTablePrefix(), tool,
                List.of("nft", "list", "table", "inet", o.nftTablePrefix())));
        probes.add(probe("iptables chain " + o.iptablesChainPrefix() + "forward", tool,
                List.of("iptables", "-w", "-S", o.iptablesChainPrefix() + "forward")));
        boolean failed = false;
        for (IpForwarding.Note n : IpForwarding.switchOffUnlessInForce(sysctls, true, probes, marker)) {
            out.println("netvm forwarding prestart: " + n.text());
            failed |= n.level() == IpForwarding.Note.Level.ERROR;
        }
        return failed ? 1 : 0;
    }

    private static IpForwarding.RulesProbe probe(String name, Tool tool, List<String> argv) {
        return new IpForwarding.RulesProbe() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public boolean holdsRules() throws Exception {
                return tool.succeeds(argv);
            }
        };
    }

    private static boolean exec(List<String> argv) throws IOException {
        return new SystemProcessRunner(Duration.ofSeconds(10), 64 << 20, 1 << 20).run(argv, "").ok();
    }
}
