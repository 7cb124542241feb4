package org.netvm.xenstore.client.internal;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.netvm.xenstore.server.internal.EmbeddedXenstored;
import org.netvm.xenstore.server.internal.Options;

/**
 * Benchmark driver for {@code tests/bench/xenstore/bench.sh} (not a test: surefire does not run it).
 *
 * <pre>
 * java -cp CLASSPATH org.netvm.xenstore.client.internal.XenStoreBench serve SOCKET
 *     runs the embedded xenstored on SOCKET until killed
 * java -cp CLASSPATH org.netvm.xenstore.client.internal.XenStoreBench client SOCKET read|write N THREADS [watch]
 *     one XenStoreClient; THREADS callers share its connection (pipelined); each does N/THREADS
 *     requests on its own node, after an unmeasured warm-up of the same size (JIT). With "watch", a
 *     second client on the same daemon watches /bench/j, so every write fires an event; the measured
 *     part ends when the last of them has arrived (at most 10 s later), and the events seen are
 *     printed to standard error.
 *     Prints "OPS SECONDS OPS_PER_SECOND CPU_US_PER_OP" (the last: this process's CPU time in the
 *     measured part, all threads, per request).
 * java -cp CLASSPATH org.netvm.xenstore.client.internal.XenStoreBench raw SOCKET read|write N
 *     the floor for a sequential caller: a minimal loop on a blocking socket, one write and one read
 *     per request from reused direct buffers, no checks, no threads. Prints the same.
 * </pre>
 */
public final class XenStoreBench {

    private XenStoreBench() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 2 && args[0].equals("serve")) {
            try (EmbeddedXenstored xs = EmbeddedXenstored.start(Path.of(args[1]), Options.defaults())) {
                System.out.println("ready " + xs.socketPath());
                System.out.flush();
                Thread.sleep(Long.MAX_VALUE);
            }
            return;
        }
        if (args.length == 4 && args[0].equals("raw")) {
            RawLoop.main(Path.of(args[1]), args[2].equals("read"), Integer.parseInt(args[3]));
            return;
        }
        boolean watch = args.length == 6 && args[5].equals("watch");
        if (args.length != 5 && !watch || !args[0].equals("client") || !(args[2].equals("read") || args[2].equals("write"))) {
            System.err.println("usage: XenStoreBench serve SOCKET | client SOCKET read|write N THREADS [watch] | raw SOCKET read|write N");
            System.exit(2);
        }
        Path socket = Path.of(args[1]);
        boolean read = args[2].equals("read");
        int n = Integer.parseInt(args[3]);
        int threads = Integer.parseInt(args[4]);
        int perThread = n / threads;
        try (XenStoreClient client = XenStoreClient.connectUnix(socket);
                XenStoreClient watcher = XenStoreClient.connectUnix(socket)) {
            for (int t = 0; t < threads; t++) {
                client.write("/bench/j/" + t, "value-0123456789");
            }
            AtomicLong events = new AtomicLong();
            if (watch) {
                watcher.watch("/bench/j", p -> events.incrementAndGet());
            }
            run(client, read, perThread, threads); // warm-up
            long ops = (long) perThread * threads;
            awaitEvents(events, watch && !read ? 1 + ops : 0); // the initial event and the warm-up's
            long expected = watch && !read ? events.get() + ops : 0;
            long cpu = RawLoop.processCpuNanos();
            long start = System.nanoTime();
            run(client, read, perThread, threads);
            awaitEvents(events, expected);
            RawLoop.report(ops, System.nanoTime() - start, RawLoop.processCpuNanos() - cpu);
            if (watch) {
                System.err.println("watch events: " + events.get() + " (" + (read ? "reads fire none" : "expected " + expected) + ")");
            }
        }
    }

    private static void awaitEvents(AtomicLong events, long expected) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (events.get() < expected && System.nanoTime() < deadline) {
            Thread.sleep(0, 100_000);
        }
    }

    private static void run(XenStoreClient client, boolean read, int perThread, int threads) throws Exception {
        CountDownLatch go = new CountDownLatch(1);
        AtomicReference<Exception> failed = new AtomicReference<>();
        List<Thread> all = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            String path = "/bench/j/" + t;
            all.add(Thread.ofPlatform().start(() -> {
                try {
                    go.await();
                    for (int i = 0; i < perThread; i++) {
                        if (read) {
                            client.read(path);
                        } else {
                            client.write(path, "value-0123456789");
                        }
                    }
                } catch (Exception e) {
                    failed.compareAndSet(null, e);
                }
            }));
        }
        go.countDown();
        for (Thread t : all) {
            t.join();
        }
        if (failed.get() != null) {
            throw failed.get();
        }
    }
}
