package org.netvm.dns.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.netvm.dataplane.Contribution;
import org.netvm.dataplane.Verdict;
import org.netvm.dns.NameserverSource;
import org.netvm.testing.config.Configs;
import org.netvm.testing.dataplane.FakeDataplane;
import org.netvm.testing.log.Loggers;
import org.netvm.util.ExecutorTasks;
import org.osgi.framework.Constants;

/**
 * The whole chain on a real file system: a resolv.conf rewrite, the watch, the built-in source, the
 * reconciler, {@code Dataplane.put}. Prints the latency from the rewrite to the put.
 */
class ResolvConfWatchTest {
    private static final long BOUND_MS = 500;
    private static final int ROUNDS = 25;

    @TempDir
    Path dir;

    private record Put(long nanos, Contribution contribution) {
    }

    private final LinkedBlockingQueue<Put> puts = new LinkedBlockingQueue<>();
    private final List<String> logs = Collections.synchronizedList(new ArrayList<>());
    private FileNameservers files;
    private DnsComponent dns;

    private void start(Path resolv, Path resolved) throws IOException {
        files = new FileNameservers(resolv, resolved, 1000, 2, Loggers.recording(logs));
        FakeDataplane dataplane = Fakes.dataplane();
        dataplane.onPut(c -> puts.add(new Put(System.nanoTime(), c)));
        dns = new DnsComponent(dataplane, Fakes.xenstore(), Loggers.recording(logs), new ExecutorTasks("test-dns"),
                new StaleDnsFlows(Fakes.FakeConntrackTable::new, Loggers.recording(logs)),
                Configs.of(DnsComponent.Config.class));
        dns.addSource(files, java.util.Map.of(Constants.SERVICE_RANKING, NameserverSource.BUILTIN_RANKING,
                Constants.SERVICE_ID, 1L));
    }

    @AfterEach
    void stop() {
        if (dns != null) {
            dns.deactivate();
        }
        if (files != null) {
            files.close();
        }
    }

    private static String upstreamOfDns1(Contribution c) {
        return c.rules().getFirst().verdict() instanceof Verdict.Dnat d ? d.address().text() : "drop";
    }

    /** Waits for the put that maps DNS1 to {@code upstream}; returns its latency from {@code t0}, in µs. */
    private long awaitPut(long t0, String upstream) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (true) {
            Put p = puts.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
            assertNotNull(p, "no put mapping DNS1 to " + upstream + " within 5 s; log: " + logs);
            if (upstreamOfDns1(p.contribution()).equals(upstream)) {
                return TimeUnit.NANOSECONDS.toMicros(p.nanos() - t0);
            }
        }
    }

    private static String report(String what, List<Long> micros) {
        List<Long> s = new ArrayList<>(micros);
        Collections.sort(s);
        return String.format("%s: n=%d min=%.2f ms median=%.2f ms p90=%.2f ms max=%.2f ms", what, s.size(),
                s.getFirst() / 1000.0, s.get(s.size() / 2) / 1000.0, s.get(s.size() * 9 / 10) / 1000.0,
                s.getLast() / 1000.0);
    }

    private void assertBound(List<Long> micros) {
        assertTrue(Collections.max(micros) < BOUND_MS * 1000, "slowest " + Collections.max(micros) + " µs");
    }

    @Test
    void replacingResolvConfByRenameReachesPutQuickly() throws Exception {
        Path resolv = dir.resolve("resolv.conf");
        Files.writeString(resolv, "nameserver 192.168.0.1\n");
        start(resolv, null);
        awaitPut(System.nanoTime(), "192.168.0.1");
        List<Long> lat = new ArrayList<>();
        for (int i = 0; i < ROUNDS; i++) {
            String up = "10.0." + (i % 2) + "." + (i + 1);
            Path tmp = dir.resolve("resolv.conf.tmp");
            Files.writeString(tmp, "# by test\nnameserver " + up + "\nnameserver 9.9.9.9\n");
            long t0 = System.nanoTime();
            Files.move(tmp, resolv, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            lat.add(awaitPut(t0, up));
        }
        System.out.println("[latency] " + report("resolv.conf replaced by rename -> put", lat));
        assertBound(lat);
    }

    @Test
    void rewritingResolvConfInPlaceReachesPutQuickly() throws Exception {
        Path resolv = dir.resolve("resolv.conf");
        Files.writeString(resolv, "nameserver 192.168.0.1\n");
        start(resolv, null);
        awaitPut(System.nanoTime(), "192.168.0.1");
        List<Long> lat = new ArrayList<>();
        for (int i = 0; i < ROUNDS; i++) {
            String up = "10.1." + (i % 2) + "." + (i + 1);
            long t0 = System.nanoTime();
            Files.writeString(resolv, "nameserver " + up + "\n", StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE);
            lat.add(awaitPut(t0, up));
        }
        System.out.println("[latency] " + report("resolv.conf rewritten in place -> put", lat));
        assertBound(lat);
    }

    /** A FIFO at the path must not block the watcher: it counts as no nameservers, and a regular file after it is applied. */
    @Test
    void aFifoAtTheResolvConfPathMeansNoNameserversAndDoesNotBlockTheWatcher() throws Exception {
        Path resolv = dir.resolve("resolv.conf");
        Files.writeString(resolv, "nameserver 192.168.0.1\n");
        start(resolv, null);
        awaitPut(System.nanoTime(), "192.168.0.1");
        Path fifo = dir.resolve("resolv.conf.fifo");
        Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start();
        assertEquals(0, mkfifo.waitFor());
        Files.move(fifo, resolv, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        awaitPut(System.nanoTime(), "drop");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (logs.stream().noneMatch(l -> l.contains("not a regular file")) && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertTrue(logs.stream().anyMatch(l -> l.contains("not a regular file")), String.valueOf(logs));
        Path next = dir.resolve("resolv.conf.new");
        Files.writeString(next, "nameserver 10.9.8.7\n");
        Files.move(next, resolv, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        awaitPut(System.nanoTime(), "10.9.8.7");
    }

    @Test
    void aSymlinkedResolvConfIsFollowedIntoItsTargetsDirectory() throws Exception {
        Path nm = Files.createDirectories(dir.resolve("run/NetworkManager"));
        Path target = nm.resolve("resolv.conf");
        Files.writeString(target, "nameserver 192.168.0.1\n");
        Path etc = Files.createDirectories(dir.resolve("etc"));
        Path resolv = etc.resolve("resolv.conf");
        Files.createSymbolicLink(resolv, etc.relativize(target));
        start(resolv, null);
        awaitPut(System.nanoTime(), "192.168.0.1");
        List<Long> lat = new ArrayList<>();
        for (int i = 0; i < ROUNDS; i++) {
            String up = "10.2." + (i % 2) + "." + (i + 1);
            Path tmp = nm.resolve(".resolv.conf.new");
            Files.writeString(tmp, "nameserver " + up + "\n");
            long t0 = System.nanoTime();
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            lat.add(awaitPut(t0, up));
        }
        System.out.println("[latency] " + report("symlink target replaced by rename -> put", lat));
        assertBound(lat);

        // re-pointing the link elsewhere is followed too
        Path other = Files.createDirectories(dir.resolve("run/other")).resolve("resolv.conf");
        Files.writeString(other, "nameserver 172.16.0.1\n");
        Path link = etc.resolve(".resolv.conf.link");
        Files.createSymbolicLink(link, etc.relativize(other));
        long t0 = System.nanoTime();
        Files.move(link, resolv, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        long relink = awaitPut(t0, "172.16.0.1");
        Files.writeString(other, "nameserver 172.16.0.2\n");
        t0 = System.nanoTime();
        long after = awaitPut(t0, "172.16.0.2");
        System.out.printf("[latency] symlink re-pointed -> put %.2f ms; then new target rewritten -> put %.2f ms%n",
                relink / 1000.0, after / 1000.0);
        assertTrue(relink < BOUND_MS * 1000 && after < BOUND_MS * 1000);
    }

    @Test
    void systemdResolvedsFileTakesOverWhenItAppearsAndHandsBackWhenGone() throws Exception {
        Path resolv = Files.createDirectories(dir.resolve("etc")).resolve("resolv.conf");
        Files.writeString(resolv, "nameserver 127.0.0.53\noptions edns0 trust-ad\n"); // resolved's stub
        Path run = Files.createDirectories(dir.resolve("run")); // not watched: resolved's directory is missing
        Path resolved = run.resolve("systemd/resolve/resolv.conf");
        start(resolv, resolved);
        awaitPut(System.nanoTime(), "drop");

        Files.createDirectories(resolved.getParent());
        Files.writeString(resolved, "# This is /run/systemd/resolve/resolv.conf managed by man:systemd-resolved(8).\n"
                + "nameserver 192.168.178.1\nnameserver fd00::1\nsearch fritz.box\n");
        long t0 = System.nanoTime();
        long appeared = awaitPut(t0, "192.168.178.1"); // its directory was not watched: found by the 5 ms stat check
        assertEquals("192.168.178.1", upstreamOfDns1(DnsRules.contribution(
                DnsMapping.of(VirtualDns.defaults(org.netvm.dataplane.IpAddress.of("10.139.1.1"),
                        org.netvm.dataplane.IpAddress.of("10.139.1.2")), Upstreams.usable(files.nameservers())))));

        Path tmp = resolved.resolveSibling(".#resolv.conf");
        Files.writeString(tmp, "nameserver 192.168.178.2\n");
        t0 = System.nanoTime();
        Files.move(tmp, resolved, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        long watched = awaitPut(t0, "192.168.178.2"); // now its directory is watched

        t0 = System.nanoTime();
        Files.delete(resolved);
        long gone = awaitPut(t0, "drop"); // back to /etc/resolv.conf, whose stub is no upstream
        System.out.printf("[latency] resolved file appeared (stat check) %.1f ms; replaced (watch) %.2f ms; deleted %.2f ms%n",
                appeared / 1000.0, watched / 1000.0, gone / 1000.0);
        assertTrue(appeared < 3_000_000, "found without an event: " + appeared + " µs");
        assertTrue(watched < BOUND_MS * 1000 && gone < BOUND_MS * 1000);
    }
}
