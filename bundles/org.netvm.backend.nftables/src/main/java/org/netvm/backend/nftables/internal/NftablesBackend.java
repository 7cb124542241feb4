package org.netvm.backend.nftables.internal;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

import org.netvm.dataplane.BackendException;
import org.netvm.dataplane.Family;
import org.netvm.dataplane.OwnedState;
import org.netvm.dataplane.PacketFilterBackend;
import org.netvm.dataplane.Plan;
import org.netvm.util.ProcessRunner;
import org.netvm.util.SystemProcessRunner;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The {@code nftables} backend. It owns the tables {@code inet <prefix>}, {@code ip <prefix>-ip} and
 * {@code ip6 <prefix>-ip6} and nothing else.
 *
 * <p>{@link #apply} sends one {@code nft -f -} transaction: "add table; delete table" for each owned
 * table, then the plan's tables from scratch. Sets are re-created with the same elements inside that
 * transaction, so no packet ever sees a missing element; conntrack entries (established flows, NAT
 * bindings) live outside the tables and are not touched. Counters restart at zero. When only set
 * elements differ from the last plan applied, only {@code delete element}/{@code add element} lines are
 * sent; if that fails (e.g. an element was deleted by hand), the full transaction is sent instead. Such
 * element-only changes (a guest's anti-spoof elements) go to the kernel as one nf_tables netlink batch
 * ({@link NetlinkElements}, config {@code netlinkElements}): no nft cache refill, the kernel's acks are
 * the confirmation.
 *
 * <p>nft is reached through the {@link Nft} seam. Where libnftables loads (config {@code library}, the
 * library {@code nft} itself uses) every transaction, change and listing is a call into it in-process
 * ({@link LibNftables}): a status and error text per command buffer, no process start, nft's cache kept
 * warm. Otherwise ({@link ProcessNft}) full transactions, read-back and sweeps use {@code nft -f}/{@code
 * nft list} processes, and small changes (a guest's elements, a DNS chain) a long-lived {@code nft -i}
 * ({@link InteractiveNft}, one line = one transaction: 2–4 ms with 100–1 000 guests) rather than a new
 * {@code nft -f} process (25–45 ms here: process start plus loading the ruleset into nft's cache).
 * Read-back parses nft's JSON ({@code nft -j -n list table}, {@link NftJson}), whose schema is stable
 * across nft versions, unlike its text. A read-back is skipped when the nf_tables ruleset generation of the
 * namespace is still the one of the last read-back and netvm applied nothing since ({@link Generation}):
 * any commit to nf_tables, by anyone, changes it; and when the generation moved only by netvm's own commits
 * since a read-back that held exactly what netvm expected, the read-back is that expectation for the plan
 * applied since (no listing after each of netvm's own changes).
 *
 * <p>User-owned chains ({@link org.netvm.dataplane.Chain#userOwned}, e.g. {@code custom-forward}): netvm's
 * rules there carry {@code comment "netvm"}; every other rule is the user's. A full transaction reads them
 * (one {@code nft list table}) and puts them back, with their counters, after netvm's rules; a delta never
 * flushes such a chain; {@link #readBack} leaves them out. {@link #sweep} removes them with the tables.
 *
 * <p>Longer than the project's ~400 lines: the component's configuration, its seams' wiring and the
 * choice among the three ways to the kernel (netlink elements, a delta, the full transaction keeping user
 * rules) are one decision per apply; the ways themselves live in their own classes.
 */
@Component(name = NftablesBackend.PID, configurationPid = NftablesBackend.PID,
        property = PacketFilterBackend.BACKEND + "=" + NftablesBackend.NAME)
@Designate(ocd = NftablesBackend.Config.class)
public final class NftablesBackend implements PacketFilterBackend {
    static final String PID = "org.netvm.backend.nftables";
    static final String NAME = "nftables";
    private static final Pattern NETNS = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}");
    private static final int MAX_INTERACTIVE = 256 * 1024;

    @ObjectClassDefinition(id = PID, name = "netvm nftables backend",
            description = "Programs packet filtering and NAT through nft, in tables of its own.")
    public @interface Config {
        @AttributeDefinition(description = "Network namespace to program (ip netns name); empty = own namespace")
        String netns() default "";

        @AttributeDefinition(description = "Prefix of the owned tables: inet <prefix>, ip <prefix>-ip, ip6 <prefix>-ip6")
        String tablePrefix() default "netvm";

        @AttributeDefinition(description = "The nft program")
        String nft() default "nft";

        @AttributeDefinition(description = "Timeout of one nft run, in milliseconds")
        long timeoutMillis() default 30000;

        @AttributeDefinition(description = "Send changes of elements and single chains through a long-lived "
                + "'nft -i' (no process start per change); off: one 'nft -f' per change")
        boolean interactive() default true;

        @AttributeDefinition(description = "The flowtable fast path: established TCP/UDP flows that passed every rule "
                + "are offloaded to a flowtable over the vifs and uplinks (table inet <prefix>-fastpath), where the "
                + "kernel has flowtables (probed once); off (the default until it is measured on a kernel with "
                + "flowtables): no flowtable")
        boolean flowtable() default false;

        @AttributeDefinition(description = "libnftables, called in-process for every transaction and listing "
                + "(file name or path); empty, or a library that cannot be loaded: nft processes")
        String library() default LibNftables.DEFAULT_LIBRARY;

        @AttributeDefinition(description = "Send changes of set elements only (a guest coming or going) to the kernel "
                + "as one nf_tables netlink batch, acknowledged per message, instead of through nft (whose cache "
                + "refill after each commit grows with the ruleset); off, or no netlink socket: through nft")
        boolean netlinkElements() default true;
    }

    private final ProcessRunner runner;
    private final List<String> nftPrefix;
    private final Nft nft;
    private final NftRenderer renderer;
    private final NftShell shell;
    private final Fastpath fastpath; // null: none (tests and tools that count nft runs)
    private final NetlinkElements elements; // null: element changes through nft too
    private final Generation generation; // the read-back's "nothing changed" shortcut
    private volatile Expected lastExpected; // the last plan's expectation (a plan is immutable)
    private int listings; // real read-backs (tests)
    private Plan lastApplied;

    @Activate
    public NftablesBackend(Config config, @Reference(service = LoggerFactory.class) Logger log) {
        NetfilterSocket socket = netfilterSocket(config, log); // the generation is asked over it even without netlinkElements
        this(new SystemProcessRunner(Duration.ofMillis(config.timeoutMillis())), config.nft(), config.netns(),
                config.tablePrefix(), argv -> config.interactive()
                        ? new InteractiveNft(argv, Duration.ofMillis(config.timeoutMillis()), "netvm-probe") : null,
                config.flowtable(), library(config, log), config.netlinkElements() ? socket : null, socket);
        log.info("nftables backend: nft through {}{}", nft.describe(),
                elements == null ? "" : "; element changes over netlink");
    }

    /** The netfilter netlink socket (element changes, the ruleset generation), or null. */
    private static NetfilterSocket netfilterSocket(Config config, Logger log) {
        try {
            return NetfilterSocket.open(config.netns(), Duration.ofMillis(config.timeoutMillis()));
        } catch (IOException | RuntimeException e) {
            log.warn("nftables backend: no netfilter netlink socket, element changes through nft and every "
                    + "read-back a full listing: {}", e.getMessage());
            return null;
        }
    }

    /** libnftables as configured, or null (nft processes) when it is off or cannot be loaded. */
    private static Nft library(Config config, Logger log) {
        if (config.library().isEmpty()) {
            return null;
        }
        try {
            return LibNftables.open(config.library(), config.netns(), Duration.ofMillis(config.timeoutMillis()));
        } catch (IOException | IllegalArgumentException e) {
            log.warn("nftables backend: libnftables not usable, using nft processes: {}", e.getMessage());
            return null;
        }
    }

    /** For tests and tools: {@code netns} empty for the own namespace; every change through {@code nft -f}. */
    public NftablesBackend(ProcessRunner runner, String nft, String netns, String tablePrefix) {
        this(runner, nft, netns, tablePrefix, (Duration) null);
    }

    /** {@code interactiveTimeout}: non-null to send changes through a long-lived {@code nft -i}. */
    public NftablesBackend(ProcessRunner runner, String nft, String netns, String tablePrefix,
            Duration interactiveTimeout) {
        this(runner, nft, netns, tablePrefix, (java.util.function.Function<List<String>, NftShell>) argv ->
                interactiveTimeout == null ? null : new InteractiveNft(argv, interactiveTimeout, "netvm-probe"));
    }

    NftablesBackend(ProcessRunner runner, String nft, String netns, String tablePrefix,
            java.util.function.Function<List<String>, NftShell> shells) {
        this(runner, nft, netns, tablePrefix, shells, null, null, null);
    }

    NftablesBackend(ProcessRunner runner, String nft, String netns, String tablePrefix,
            java.util.function.Function<List<String>, NftShell> shells, Boolean flowtable) {
        this(runner, nft, netns, tablePrefix, shells, flowtable, null, null);
    }

    /** For tests and tools: every transaction and listing through {@code library} (e.g. {@link LibNftables}). */
    NftablesBackend(ProcessRunner runner, String nft, String netns, String tablePrefix, Nft library) {
        this(runner, nft, netns, tablePrefix, argv -> null, null, library, null);
    }

    /** For tests and tools: like the above, element-only changes through {@code elements} (null: through nft). */
    NftablesBackend(ProcessRunner runner, String nft, String netns, String tablePrefix, Nft library,
            NetlinkElements.Transport elements) {
        this(runner, nft, netns, tablePrefix, argv -> null, null, library, elements);
    }

    /**
     * {@code flowtable}: null for no fast path at all, else its configuration switch (see {@link Fastpath});
     * {@code library}: the {@link Nft} of every transaction and listing, or null for nft processes (and
     * then {@code shells} for small changes); {@code elements}: element-only changes over netlink
     * ({@link NetlinkElements}), or null for through nft.
     */
    NftablesBackend(ProcessRunner runner, String nft, String netns, String tablePrefix,
            java.util.function.Function<List<String>, NftShell> shells, Boolean flowtable, Nft library,
            NetlinkElements.Transport elements) {
        this(runner, nft, netns, tablePrefix, shells, flowtable, library, elements,
                elements instanceof Generation.Query q ? q : null);
    }

    /** {@code generation}: where the ruleset generation is asked ({@link Generation}), or null (never skip). */
    NftablesBackend(ProcessRunner runner, String nft, String netns, String tablePrefix,
            java.util.function.Function<List<String>, NftShell> shells, Boolean flowtable, Nft library,
            NetlinkElements.Transport elements, Generation.Query generation) {
        this.runner = runner;
        this.renderer = new NftRenderer(tablePrefix);
        List<String> p = new ArrayList<>();
        if (netns != null && !netns.isEmpty()) {
            if (!NETNS.matcher(netns).matches()) {
                throw new IllegalArgumentException("bad network namespace name: " + netns);
            }
            p.addAll(List.of("ip", "netns", "exec", netns));
        }
        if (nft == null || nft.isEmpty() || nft.startsWith("-")) {
            throw new IllegalArgumentException("bad nft program: " + nft);
        }
        p.add(nft);
        this.nftPrefix = List.copyOf(p);
        this.nft = library != null ? library : new ProcessNft(runner, nftPrefix);
        this.shell = library != null ? null : shells.apply(nftPrefix);
        this.fastpath = flowtable == null ? null : new Fastpath(tablePrefix, flowtable, fastpathRunner());
        this.elements = elements == null ? null : new NetlinkElements(renderer, elements);
        this.generation = new Generation(generation);
    }

    @Deactivate
    public void close() {
        if (shell != null) {
            shell.close();
        }
        if (elements != null) {
            elements.close();
        }
        generation.close(); // the same socket as the elements' or its own: closing twice is harmless
        nft.close();
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public synchronized void apply(Plan plan) throws BackendException {
        Generation.Before before = generation.beforeApply(lastApplied);
        applyPlan(plan);
        generation.afterApply(before, plan);
    }

    private void applyPlan(Plan plan) throws BackendException {
        if (lastApplied != null && !lastApplied.equals(plan) && lastApplied.chains().equals(plan.chains())) {
            // same tables and chains: only the chains whose rules changed are replaced (flush + rules), sets
            // added or deleted (a guest's key sets) and only the changed elements sent, still in one
            // transaction (a DNS change is a few lines, not the whole ruleset; a guest's rules its chain and
            // its sets); a change of elements alone goes over netlink (NetlinkElements checks that)
            try {
                String delta = elementsOverNetlink(plan) ? "" : renderer.delta(lastApplied, plan);
                if (delta != null) {
                    small(delta);
                    lastApplied = plan;
                    syncFastpath(plan);
                    return;
                }
            } catch (BackendException e) {
                // the kernel is not what we last applied (drift); the full transaction repairs it
            }
        }
        fullKeepingUserRules(plan);
        lastApplied = plan;
        syncFastpath(plan);
        if (shell != null) {
            try {
                shell.warmUp(); // the next change (a guest, a DNS server) goes through it without a process start
            } catch (IOException e) {
                // the next change starts it again, or falls back to nft -f
            }
        }
    }

    /**
     * Whether the change to {@code plan} (same tables, chains and sets as the last applied) was element-only
     * and is in the kernel now, sent over netlink ({@link NetlinkElements}); false: for nft to send.
     *
     * @throws BackendException the kernel refused it (nothing changed) or its outcome is unknown
     */
    private boolean elementsOverNetlink(Plan plan) throws BackendException {
        return elements != null && elements.apply(lastApplied, plan);
    }

    /**
     * The full transaction, with the user's rules of the plan's user-owned chains read from the kernel
     * just before and put back in the same transaction. If nft refuses them (e.g. a user rule jumps to a
     * chain the user added to netvm's table, which the transaction re-creates without it), the plan is
     * applied without them: netvm's rules must not depend on the user's.
     */
    private void fullKeepingUserRules(Plan plan) throws BackendException {
        java.util.Map<org.netvm.dataplane.ChainRef, List<String>> user = new java.util.HashMap<>();
        java.util.Map<Family, java.util.Map<String, List<String>>> listed = new java.util.EnumMap<>(Family.class);
        for (org.netvm.dataplane.Chain c : plan.chains()) {
            if (c.userOwned()) {
                var inTable = listed.computeIfAbsent(c.family(), f -> {
                    try { // one listing per table; none there (first start): no user rules
                        Nft.Reply r = list("list table " + renderer.tableSpec(f), Nft.Output.TEXT);
                        return r.ok() ? UserRules.parse(r.output()) : java.util.Map.of();
                    } catch (BackendException e) {
                        return java.util.Map.of();
                    }
                });
                List<String> rules = inTable.getOrDefault(c.name(), List.of());
                if (!rules.isEmpty()) {
                    user.put(c.ref(), rules);
                }
            }
        }
        if (user.isEmpty()) {
            transaction(renderer.full(plan));
            return;
        }
        try {
            transaction(renderer.full(plan, user));
        } catch (BackendException e) {
            transaction(renderer.full(plan));
        }
    }

    @Override
    public synchronized OwnedState readBack() throws BackendException {
        if (fastpath != null) {
            fastpath.refreshUplinks(lastApplied);
        }
        long before = generation.now();
        OwnedState same = generation.unchanged(before);
        if (same != null) {
            return same; // nothing committed to nf_tables since that read-back, and netvm applied nothing
        }
        OwnedState derived = generation.derived(before, this::expected);
        if (derived != null) {
            return derived; // since an exact read-back, only netvm's own commits
        }
        OwnedState found = listOwned();
        generation.record(found, lastApplied, before, generation.now());
        return found;
    }

    /** The number of real read-backs (listings) so far. */
    synchronized int listings() {
        return listings;
    }

    /**
     * The real read-back: each owned table listed by name as JSON and parsed; one that is not there is
     * not. Not {@code list tables}: nft fills its cache with the whole ruleset for it, every table of
     * everyone (25 000 iptables-nft rules beside netvm's: 0.8 s, against 0.03 s for an absent table).
     */
    private OwnedState listOwned() throws BackendException {
        listings++;
        NftJson listing = new NftJson();
        try {
            for (Family f : Family.values()) {
                Nft.Reply r = list("list table " + renderer.tableSpec(f), Nft.Output.JSON);
                if (r.ok()) {
                    listing.parse(r.output());
                } else if (!r.error().contains("No such file or directory")) {
                    throw new BackendException("nft list table " + renderer.tableSpec(f) + " failed", r.error());
                }
            }
        } catch (jakarta.json.JsonException | ClassCastException | NullPointerException e) {
            throw new BackendException("nft's JSON listing could not be read", String.valueOf(e.getMessage()), e);
        }
        OwnedState found = new OwnedState(new java.util.TreeMap<>(listing.chains),
                new java.util.TreeMap<>(listing.rules), new java.util.TreeMap<>(listing.sets),
                new java.util.TreeMap<>(listing.elements));
        // the user's rules in user-owned chains are not netvm's state, so never drift
        return lastApplied == null ? found : renderer.withoutUserRules(found, lastApplied);
    }

    @Override
    public OwnedState expected(Plan plan) {
        Expected e = lastExpected;
        if (e != null && e.plan() == plan) {
            return e.state(); // the dataplane's drift check asks for the plan a derived read-back rendered
        }
        // from the last expectation: a drift check after a guest's change renders that change, not the ruleset
        OwnedState state = e == null ? renderer.expected(plan) : renderer.expected(e.plan(), e.state(), plan);
        lastExpected = new Expected(plan, state);
        return state;
    }

    private record Expected(Plan plan, OwnedState state) {
    }

    @Override
    public synchronized void sweep() throws BackendException {
        generation.changed();
        transaction(renderer.sweep() + (fastpath == null ? "" : fastpath.sweep()));
        lastApplied = null;
        if (fastpath != null) {
            fastpath.forget();
        }
    }

    /** The fast path's state ({@link Fastpath#state}): on, off, absent (the kernel has no flowtables). */
    public String fastPath() {
        return fastpath == null ? "absent (not built in)" : fastpath.state();
    }

    private void syncFastpath(Plan plan) {
        if (fastpath != null) {
            fastpath.sync(plan); // after the plan, in transactions of its own: it never fails the apply
        }
    }

    private Fastpath.Runner fastpathRunner() {
        List<String> ip = new ArrayList<>(nftPrefix.subList(0, nftPrefix.size() - 1));
        ip.add("ip");
        return new Fastpath.Runner() {
            @Override
            public String nft(List<String> args, String stdin) {
                try {
                    ProcessRunner.Result r = NftablesBackend.this.process(args, stdin);
                    return r.ok() ? null : "nft: " + r.stderr().strip();
                } catch (BackendException e) {
                    return e.getMessage();
                }
            }

            @Override
            public String nftLine(String script) {
                try {
                    small(script);
                    return null;
                } catch (BackendException e) {
                    return e.getMessage();
                }
            }

            @Override
            public String ip(List<String> args, StringBuilder out) {
                List<String> argv = new ArrayList<>(ip);
                argv.addAll(args);
                try {
                    ProcessRunner.Result r = runner.run(argv, "");
                    out.append(r.stdout());
                    return r.ok() ? null : r.stderr();
                } catch (IOException e) {
                    return e.getMessage();
                }
            }
        };
    }

    /** The script {@link #apply} would send for {@code plan} as a full transaction (for dry runs). */
    public String render(Plan plan) {
        return renderer.full(plan);
    }

    /** A change of a few lines: through {@code nft -i} when there is one, else as any transaction. */
    private void small(String script) throws BackendException {
        if (shell == null || script.isEmpty() || script.length() > MAX_INTERACTIVE) {
            transaction(script);
            return;
        }
        String error;
        try {
            error = shell.transaction(String.join("; ", script.lines().toList()));
        } catch (IOException e) {
            // outcome unknown: the caller's full transaction brings the kernel to the plan either way
            throw new BackendException("nft -i failed: " + e.getMessage(), "");
        }
        if (error != null) {
            throw new BackendException("nft rejected the change, nothing changed", error);
        }
    }

    private void transaction(String script) throws BackendException {
        if (script.isEmpty()) {
            return;
        }
        Nft.Reply r;
        try {
            r = nft.run(script, Nft.Output.NONE);
        } catch (IOException e) {
            throw new BackendException("could not run nft (" + nft.describe() + ")", e.getMessage(), e);
        }
        if (!r.ok()) {
            throw new BackendException("nft rejected the transaction, nothing changed", r.error());
        }
    }

    private Nft.Reply list(String command, Nft.Output output) throws BackendException {
        try {
            return nft.run(command, output);
        } catch (IOException e) {
            throw new BackendException("could not run nft (" + nft.describe() + ")", e.getMessage(), e);
        }
    }

    /** An nft process (the fast path's probes and transactions). */
    private ProcessRunner.Result process(List<String> args, String stdin) throws BackendException {
        List<String> argv = new ArrayList<>(nftPrefix);
        argv.addAll(args);
        try {
            return runner.run(argv, stdin);
        } catch (IOException e) {
            throw new BackendException("could not run " + String.join(" ", nftPrefix), e.getMessage(), e);
        }
    }
}
