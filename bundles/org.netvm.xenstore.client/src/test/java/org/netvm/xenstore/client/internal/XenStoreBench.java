package org.netvm.xenstore.client.internal;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

import org.netvm.xenstore.server.internal.EmbeddedXenstored;
import org.netvm.xenstore.server.internal.Options;

/**
 * Benchmark driver for {@code tests/bench/xenstore/bench.sh} (not a test: surefire does not run it).
 *
 * <pre>
 * java -cp CLASSPATH org.netvm.xenstore.client.internal.XenStoreBench serve SOCKET
 *     runs the embedded xenstored on SOCKET until killed
 * java -cp CLASSPATH org.netvm.xenstore.client.internal.XenStoreBench client SOCKET read|write N THREADS
 *     one XenStoreClient; THREADS callers share its connection (pipelined); each does N/THREADS
 *     requests on its own node, after an unmeasured warm-up of the same size (JIT).
 *     Prints "OPS SECONDS OPS_PER_SECOND", like xsbench.c.
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
        if (args.length != 5 || !args[0].equals("client") || !(args[2].equals("read") || args[2].equals("write"))) {
            System.err.println("usage: XenStoreBench serve SOCKET | client SOCKET read|write N THREADS");
            System.exit(2);
        }
        Path socket = Path.of(args[1]);
        boolean read = args[2].equals("read");
        int n = Integer.parseInt(args[3]);
        int threads = Integer.parseInt(args[4]);
        int perThread = n / threads;
        try (XenStoreClient client = XenStoreClient.connectUnix(socket)) {
            for (int t = 0; t < threads; t++) {
                client.write("/bench/j/" + t, "value-0123456789");
            }
            run(client, read, perThread, threads); // warm-up
            long start = System.nanoTime();
            run(client, read, perThread, threads);
            double seconds = (System.nanoTime() - start) / 1e9;
            long ops = (long) perThread * threads;
            System.out.printf("%d %.3f %.0f%n", ops, seconds, ops / seconds);
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
