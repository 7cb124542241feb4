package org.netvm.dns.internal;

import static java.nio.file.StandardWatchEventKinds.ENTRY_CREATE;
import static java.nio.file.StandardWatchEventKinds.ENTRY_DELETE;
import static java.nio.file.StandardWatchEventKinds.ENTRY_MODIFY;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArraySet;
import java.util.concurrent.TimeUnit;

import org.netvm.dns.NameserverSource;
import org.osgi.service.log.Logger;

/**
 * The built-in upstream list: systemd-resolved's upstream file while it exists, else resolv.conf.
 *
 * <p>systemd-resolved writes every upstream server it knows to {@code /run/systemd/resolve/resolv.conf}
 * (global servers first, then per-link ones, in link order), whatever {@code /etc/resolv.conf} points to
 * (often its stub, {@code nameserver 127.0.0.53}, useless for a DNAT). {@code /run} is a tmpfs, so the
 * file exists once resolved ran since boot. Reading the file instead of asking resolved over D-Bus
 * keeps this free of D-Bus; it differs from Qubes (global servers if any, else per-link ones) only
 * when there is exactly one global server and some per-link ones: Qubes sends DNS2 to the global
 * server too, netvm to the first per-link one.
 *
 * <p>Change detection: one thread waits on a {@link WatchService} (inotify on Linux) registered on the
 * directories of both files as named and, for symbolic links, of their targets (re-evaluated after
 * every change, so a link re-pointed elsewhere is followed), and re-reads at least every
 * {@code pollMillis} in case an event was missed or a directory appeared only later. In between, every
 * {@code statMillis} it compares the file's identity, size and modification time (one {@code stat},
 * no read) and reads it when they changed: a file bind-mounted over resolv.conf and edited in place
 * (containers, {@code ip netns exec}) raises no event in the watched directory, and is still seen
 * within a few milliseconds. After an event (or a changed stat) it takes the events already queued and
 * reads at once; only if the file looks half-written (empty, or not ending with a line break: a writer
 * rewriting it in place may be between its truncation and its last write) does it wait {@code
 * debounceMillis} for more and read again. Listeners are told before the change is logged. A missing or
 * unreadable file yields an empty list (fail closed: queries are dropped).
 */
final class FileNameservers implements NameserverSource, AutoCloseable {
    private final Path resolvConf;
    private final Path resolvedConf;
    private final long pollMillis;
    private final long debounceMillis;
    private final long statMillis;
    private Object lastStat;
    private long lastFullNanos;
    private final Logger log;
    private final Set<Listener> listeners = new CopyOnWriteArraySet<>();
    private final WatchService watcher;
    private final Map<Path, WatchKey> watched = new HashMap<>();
    private final Thread thread;
    private volatile List<InetAddress> current = List.of();
    private volatile boolean running = true;
    private String lastProblem;

    /**
     * Reads the files once, then starts watching.
     *
     * @param resolvedConf systemd-resolved's file, or null to ignore resolved
     */
    FileNameservers(Path resolvConf, Path resolvedConf, long pollMillis, long debounceMillis, Logger log)
            throws IOException {
        this(resolvConf, resolvedConf, pollMillis, debounceMillis, 5, log);
    }

    FileNameservers(Path resolvConf, Path resolvedConf, long pollMillis, long debounceMillis, long statMillis,
            Logger log) throws IOException {
        this.resolvConf = resolvConf.toAbsolutePath();
        this.resolvedConf = resolvedConf == null ? null : resolvedConf.toAbsolutePath();
        this.pollMillis = Math.max(10, pollMillis);
        this.debounceMillis = Math.max(0, debounceMillis);
        this.statMillis = Math.clamp(statMillis, 1, this.pollMillis);
        this.log = log;
        this.watcher = this.resolvConf.getFileSystem().newWatchService();
        rewatch();
        refresh();
        thread = new Thread(this::run, "netvm-dns-resolvconf");
        thread.setDaemon(true);
        thread.start();
    }

    @Override
    public List<InetAddress> nameservers() {
        return current;
    }

    @Override
    public Subscription subscribe(Listener listener) {
        listeners.add(listener);
        return () -> listeners.remove(listener);
    }

    @Override
    public void close() {
        running = false;
        try {
            watcher.close();
        } catch (IOException e) {
            // closing anyway
        }
        thread.interrupt();
        try {
            thread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void run() {
        try {
            while (running) {
                WatchKey key = watcher.poll(statMillis, TimeUnit.MILLISECONDS);
                boolean changed = key != null || !java.util.Objects.equals(stat(), lastStat);
                if (!changed && System.nanoTime() - lastFullNanos < TimeUnit.MILLISECONDS.toNanos(pollMillis)) {
                    continue; // no event, the file looks the same, the full re-read is not due
                }
                if (key != null) {
                    drain(key);
                }
                for (WatchKey queued; (queued = watcher.poll()) != null;) {
                    drain(queued); // coalesce what is already there, without waiting
                }
                rewatch(); // first: a change after this registration is an event, not a miss
                if (refresh(changed && debounceMillis > 0)) {
                    continue;
                }
                // the file looks half-written: wait a moment for the writer, then take what it holds
                long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(debounceMillis);
                for (long left; (left = until - System.nanoTime()) > 0;) {
                    WatchKey more = watcher.poll(left, TimeUnit.NANOSECONDS);
                    if (more != null) {
                        drain(more);
                    }
                }
                rewatch();
                refresh(false);
            }
        } catch (InterruptedException | ClosedWatchServiceException e) {
            // closed
        } catch (RuntimeException e) {
            log.error("resolv.conf watcher stopped: {}", e.toString());
        }
    }

    private void drain(WatchKey key) {
        key.pollEvents();
        if (!key.reset()) {
            watched.values().remove(key);
        }
    }

    /** Which file is in charge now. */
    Path source() {
        return resolvedConf != null && Files.isRegularFile(resolvedConf) ? resolvedConf : resolvConf;
    }

    /** Identity, size and modification time of the file in charge; null if it cannot be read. */
    private Object stat() {
        try {
            var a = Files.readAttributes(source(), java.nio.file.attribute.BasicFileAttributes.class);
            return java.util.List.of(String.valueOf(a.fileKey()), a.size(), a.lastModifiedTime());
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private void refresh() {
        refresh(false);
    }

    /**
     * Reads the file in charge and tells the listeners if its list changed. With {@code unlessHalfWritten},
     * a file that looks half-written ({@link ResolvConf.Parsed#whole}) is left for a second look: returns
     * false and changes nothing. Else returns true.
     */
    private boolean refresh(boolean unlessHalfWritten) {
        lastFullNanos = System.nanoTime();
        Object statNow = stat();
        Path file = source();
        List<InetAddress> now;
        String problem = null;
        try {
            ResolvConf.Parsed p = ResolvConf.read(file);
            if (unlessHalfWritten && !p.whole()) {
                return false;
            }
            now = p.nameservers();
            if (p.rejected() > 0 || p.truncated()) {
                problem = file + ": " + p.rejected() + " malformed nameserver line(s) ignored"
                        + (p.truncated() ? ", only the first " + ResolvConf.MAX_BYTES + " bytes read" : "");
            }
        } catch (IOException e) {
            now = List.of();
            problem = file + " unreadable (no upstream nameservers, DNS dropped): " + e;
        }
        lastStat = statNow;
        if (problem != null && !problem.equals(lastProblem)) {
            log.warn(problem);
        }
        lastProblem = problem;
        if (!now.equals(current)) {
            current = now;
            for (Listener l : listeners) {
                try {
                    l.changed();
                } catch (RuntimeException e) {
                    log.error("nameserver listener failed: {}", e.toString());
                }
            }
            log.info("upstream nameservers from {}: {}", file, now);
        }
        return true;
    }

    private void rewatch() {
        Set<Path> dirs = new LinkedHashSet<>();
        addDirs(resolvConf, dirs);
        if (resolvedConf != null) {
            addDirs(resolvedConf, dirs);
        }
        watched.entrySet().removeIf(e -> {
            if (!dirs.contains(e.getKey()) || !e.getValue().isValid()) {
                e.getValue().cancel();
                return true;
            }
            return false;
        });
        for (Path dir : dirs) {
            if (!watched.containsKey(dir) && Files.isDirectory(dir)) {
                try {
                    watched.put(dir, dir.register(watcher, ENTRY_CREATE, ENTRY_DELETE, ENTRY_MODIFY));
                } catch (IOException | ClosedWatchServiceException e) {
                    // the poll covers it
                }
            }
        }
    }

    private static void addDirs(Path file, Set<Path> dirs) {
        if (file.getParent() != null) {
            dirs.add(file.getParent());
        }
        try {
            Path real = file.toRealPath();
            if (real.getParent() != null) {
                dirs.add(real.getParent());
            }
        } catch (IOException e) {
            // missing or dangling: its directory as named is watched
        }
    }
}
