package org.netvm.example.accounting.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.netvm.dataplane.Chain;
import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.Hook;
import org.netvm.dataplane.Plan;
import org.netvm.dataplane.Policy;
import org.netvm.dataplane.Priority;
import org.netvm.dataplane.Rule;
import org.netvm.policy.BasePolicy;
import org.netvm.testing.dataplane.FakeDataplane;
import org.netvm.vif.VifHook;
import org.netvm.vif.VifHook.Action;

/** The extension with fakes: a recording dataplane (the shared one) and an in-memory event log. */
class AccountingTest {

    static final class MemoryLog implements EventLog {
        final List<String> lines = new ArrayList<>();
        boolean full;

        @Override
        public void append(String line) throws IOException {
            if (full) {
                throw new IOException("No space left on device");
            }
            lines.add(line);
        }

        @Override
        public String location() {
            return "memory";
        }
    }

    /** What the base policy declares that we rely on: the forward chain and the user chain it jumps to. */
    static final Contribution POLICY = Contribution.builder(BasePolicy.OWNER).priority(BasePolicy.PRIORITY)
            .chain(Chain.filter(BasePolicy.FAMILY, "forward", Hook.FORWARD, Priority.FILTER, Policy.DROP))
            .chain(Chain.regular(BasePolicy.FAMILY, BasePolicy.CUSTOM_FORWARD.name()))
            .rule(Rule.in(BasePolicy.FORWARD).order(Rule.FIRST).jump(BasePolicy.CUSTOM_FORWARD.name()))
            .build();

    final FakeDataplane dataplane = new FakeDataplane();
    final MemoryLog log = new MemoryLog();
    final Accounting accounting = new Accounting(dataplane, log,
            Clock.fixed(Instant.parse("2026-11-27T12:00:00Z"), ZoneOffset.UTC));

    static VifHook.Event event(Action action, String vif, int domid, String ipv4) {
        return new VifHook.Event(action, vif, domid, "vif", ipv4, null, "10.137.0.1");
    }

    /** The rules we contribute, as "chain: rule" text. */
    List<String> rules() {
        return dataplane.last().rules().stream()
                .map(r -> r.chain().name() + ": " + r.matches() + " counter=" + r.counter() + " " + r.verdict()).toList();
    }

    @Test
    void startsWithAnEmptyCountingChainAndNoRules() {
        assertEquals(1, dataplane.puts().size());
        Contribution c = dataplane.last();
        assertEquals(Accounting.OWNER, c.owner());
        assertEquals(List.of(Chain.regular(BasePolicy.FAMILY, Accounting.CHAIN)), c.chains());
        assertEquals(List.of(), c.rules());
    }

    @Test
    void onlineAddsTwoCountingRulesInCustomForwardAndOfflineRemovesThem() throws Exception {
        accounting.vifChanged(event(Action.ONLINE, "vif3.0", 3, "10.137.0.5"));
        accounting.vifChanged(event(Action.ONLINE, "vif4.0", 4, "10.137.0.6"));
        List<Rule> rules = dataplane.last().rules();
        assertEquals(4, rules.size());
        for (Rule r : rules) {
            assertEquals(BasePolicy.CUSTOM_FORWARD, r.chain());
            assertTrue(r.counter());
            assertEquals(org.netvm.dataplane.Verdict.jump(Accounting.CHAIN), r.verdict(), "counts, never decides");
        }
        assertEquals(List.of(org.netvm.dataplane.Match.iifname("vif3.0")), rules.get(0).matches());
        assertEquals(List.of(org.netvm.dataplane.Match.oifname("vif3.0")), rules.get(1).matches());
        // valid next to the base policy: merging does not throw
        Plan plan = Plan.merge(POLICY, dataplane.last());
        assertEquals(4, plan.rules(BasePolicy.CUSTOM_FORWARD).size());

        accounting.vifChanged(event(Action.OFFLINE, "vif3.0", 3, "10.137.0.5"));
        assertEquals(List.of("custom-forward: [Interface[direction=INPUT, name=vif4.0, negated=false]] counter=true Jump[chain=accounting]",
                "custom-forward: [Interface[direction=OUTPUT, name=vif4.0, negated=false]] counter=true Jump[chain=accounting]"),
                rules());
        assertEquals(List.of("vif4.0"), accounting.guests().stream().map(Accounting.Guest::vif).toList());
    }

    @Test
    void writesOneJsonLinePerEvent() throws Exception {
        accounting.vifChanged(event(Action.ONLINE, "vif3.0", 3, "10.137.0.5"));
        accounting.vifChanged(event(Action.OFFLINE, "vif3.0", 3, "10.137.0.5"));
        assertEquals(List.of(
                "{\"time\":\"2026-11-27T12:00:00Z\",\"action\":\"online\",\"vif\":\"vif3.0\",\"domid\":3,\"type\":\"vif\","
                        + "\"ipv4\":\"10.137.0.5\",\"ipv6\":null,\"gateway\":\"10.137.0.1\"}",
                "{\"time\":\"2026-11-27T12:00:00Z\",\"action\":\"offline\",\"vif\":\"vif3.0\",\"domid\":3,\"type\":\"vif\","
                        + "\"ipv4\":\"10.137.0.5\",\"ipv6\":null,\"gateway\":\"10.137.0.1\"}"), log.lines);
    }

    @Test
    void aFullDiskStillCountsButTellsTheCaller() {
        log.full = true;
        assertThrows(IOException.class, () -> accounting.vifChanged(event(Action.ONLINE, "vif3.0", 3, "10.137.0.5")));
        assertEquals(2, dataplane.last().rules().size(), "the rules are in place although the line was not written");
    }

    @Test
    void theCommandPrintsGuestsAndEvents() throws Exception {
        accounting.vifChanged(event(Action.ONLINE, "vif3.0", 3, "10.137.0.5"));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream err = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        assertEquals(0, accounting.run(List.of(), new PrintStream(out, true, StandardCharsets.UTF_8), err));
        List<String> lines = out.toString(StandardCharsets.UTF_8).lines().toList();
        assertEquals("guests online: 1", lines.get(0));
        assertEquals("  vif3.0 domid 3 10.137.0.5 since 2026-11-27T12:00:00Z", lines.get(1));
        assertEquals("events (1, all in memory):", lines.get(2));
        assertTrue(lines.get(3).contains("\"action\":\"online\""), lines.get(3));
        assertEquals(2, accounting.run(List.of("bogus"), new PrintStream(out), err));
    }

    @Test
    void deactivationWithdrawsTheRulesAndIgnoresLateEvents() throws Exception {
        accounting.vifChanged(event(Action.ONLINE, "vif3.0", 3, "10.137.0.5"));
        accounting.deactivate();
        assertEquals(List.of(Accounting.OWNER), dataplane.removes());
        int puts = dataplane.puts().size();
        accounting.vifChanged(event(Action.ONLINE, "vif4.0", 4, "10.137.0.6"));
        assertEquals(puts, dataplane.puts().size());
    }

    @Test
    void hostileTextIsEscaped() {
        assertEquals("\"a\\\"b\\\\c\\u000ad\"", Json.string("a\"b\\c\nd"));
        assertEquals("null", Json.string(null));
    }

    @TempDir
    Path dir;

    @Test
    void theFileLogAppendsLinesAndCreatesItsDirectory() throws IOException {
        FileEventLog file = new FileEventLog(dir.resolve("sub"));
        file.append("{\"a\":1}");
        file.append("{\"a\":2}");
        assertEquals(List.of("{\"a\":1}", "{\"a\":2}"), Files.readAllLines(dir.resolve("sub/events.jsonl")));
        assertEquals(dir.resolve("sub/events.jsonl").toString(), file.location());
    }
}
