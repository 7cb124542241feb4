package org.netvm.control.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

import org.netvm.cli.protocol.ControlProtocol;
import org.netvm.control.ControlCommand;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.log.Logger;
import org.osgi.service.log.LoggerFactory;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * Serves {@link ControlCommand} services on a Unix socket (mode 0600: root only). One request per
 * connection, see {@link ControlProtocol}.
 */
@Component(configurationPid = ControlServer.PID, configurationPolicy = ConfigurationPolicy.REQUIRE)
@Designate(ocd = ControlServer.Config.class)
public final class ControlServer {

    public static final String PID = "org.netvm.control";

    @ObjectClassDefinition(name = "netvm control socket")
    public @interface Config {
        @AttributeDefinition(description = "Unix socket the netvm CLI connects to")
        String socketPath() default "/run/netvm/control.sock";

        @AttributeDefinition(description = "For this long after the socket opens, a request for a command "
                + "that is not registered yet (the agent is still starting) waits for it instead of failing", min = "0", max = "600")
        int startupGraceSeconds() default 30;
    }

    private final Map<String, ControlCommand> commands = new ConcurrentHashMap<>();
    private final Object registered = new Object();   // notified when a command registers
    private final java.util.Set<String> seen = ConcurrentHashMap.newKeySet(); // names ever registered
    private final long graceEndNanos;
    private final Logger log;
    private final Path socketPath;
    private final ServerSocketChannel server;
    /**
     * Platform threads (control requests never wait for a carrier that guests' xenstore connections,
     * virtual threads, keep busy), kept for reuse: the thread that accepts a connection serves it, and
     * hands the accepting over to an idle one first, so a request is not handed from thread to thread
     * (on a loaded machine each hand-off, or a thread start, costs a wake-up of a millisecond or more).
     */
    private final ExecutorService threads = Executors.newCachedThreadPool(
            Thread.ofPlatform().daemon().name("netvm-control-", 0).factory());

    @Activate
    public ControlServer(Config config, @Reference(service = LoggerFactory.class) Logger log) throws IOException {
        this.log = log;
        this.graceEndNanos = System.nanoTime() + TimeUnit.SECONDS.toNanos(Math.max(0, config.startupGraceSeconds()));
        this.socketPath = Path.of(config.socketPath());
        Path dir = socketPath.toAbsolutePath().getParent();
        if (dir != null) {
            Files.createDirectories(dir);
        }
        Files.deleteIfExists(socketPath);
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socketPath));
        Files.setPosixFilePermissions(socketPath, PosixFilePermissions.fromString("rw-------"));
        threads.execute(this::acceptOne);
        log.info("control socket listening on {}", socketPath);
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void addCommand(ControlCommand command, Map<String, Object> props) {
        Object name = props.get(ControlCommand.NAME);
        if (name instanceof String n && !n.isBlank()) {
            commands.put(n, command);
            seen.add(n);
            synchronized (registered) {
                registered.notifyAll();
            }
        }
    }

    void removeCommand(ControlCommand command, Map<String, Object> props) {
        Object name = props.get(ControlCommand.NAME);
        if (name instanceof String n) {
            commands.remove(n, command);
        }
    }

    @Deactivate
    void deactivate() throws IOException {
        server.close();
        synchronized (registered) {
            registered.notifyAll();
        }
        threads.shutdown();
        Files.deleteIfExists(socketPath);
    }

    /** Accepts one connection, lets another thread accept the next, and serves this one. */
    private void acceptOne() {
        while (server.isOpen()) {
            SocketChannel ch;
            try {
                ch = server.accept();
            } catch (IOException e) {
                if (server.isOpen()) {
                    log.warn("control socket accept failed: {}", e.toString());
                }
                continue;
            }
            long accepted = System.nanoTime();
            try {
                threads.execute(this::acceptOne);
            } catch (RejectedExecutionException e) {
                // deactivated meanwhile: this request is still served
            }
            serve(ch, accepted);
            return;
        }
    }

    private void serve(SocketChannel ch, long accepted) {
        long started = System.nanoTime();
        try (ch; InputStream in = Channels.newInputStream(ch); OutputStream raw = Channels.newOutputStream(ch)) {
            List<String> args = ControlProtocol.decodeRequest(in);
            long decoded = System.nanoTime();
            Object lock = new Object();
            java.util.concurrent.atomic.AtomicBoolean gone = new java.util.concurrent.atomic.AtomicBoolean();
            watchForHangUp(in, gone);
            try (PrintStream out = new PrintStream(new FrameOutputStream(raw, 'o', lock, gone), true, StandardCharsets.UTF_8);
                 PrintStream err = new PrintStream(new FrameOutputStream(raw, 'e', lock, gone), true, StandardCharsets.UTF_8)) {
                int status = dispatch(args, out, err);
                long ran = System.nanoTime();
                out.flush();
                err.flush();
                synchronized (lock) {
                    ControlProtocol.writeExit(raw, status);
                }
                long answered = System.nanoTime();
                log.debug(l -> l.debug("control request {}: to its thread {} ms, request read {} ms, command {} ms, "
                        + "exit written {} ms", args.isEmpty() ? "help" : args.get(0), ms(started - accepted), ms(decoded - started),
                        ms(ran - decoded), ms(answered - ran)));
            }
        } catch (IOException e) {
            log.debug("control client went away: {}", e.toString());
        }
    }

    private static String ms(long nanos) {
        return String.format(java.util.Locale.ROOT, "%.3f", nanos / 1e6);
    }

    /**
     * A client sends nothing after its request: end of stream (or an error) on its side means it went
     * away. Then {@code out.checkError()} is true for the command (its streams' flush fails), which a
     * long-running command (a watch) checks while it has nothing to write; the command is not interrupted.
     */
    private static void watchForHangUp(InputStream in, java.util.concurrent.atomic.AtomicBoolean gone) {
        Thread.ofVirtual().name("netvm-control-hangup").start(() -> {
            try {
                while (in.read() >= 0) {
                    // extra bytes after the request are ignored
                }
            } catch (IOException e) {
                // closed by us at the end of the request, or reset by the client
            }
            gone.set(true);
        });
    }

    /** Runs one request; public for tests and for the Gogo {@code netvm} command. */
    public int dispatch(List<String> args, PrintStream out, PrintStream err) {
        if (args.isEmpty() || args.get(0).equals("help") || args.get(0).equals("--help")) {
            out.println("usage: netvm [--control PATH] COMMAND [ARGS...]");
            out.println("commands of the running agent:");
            new TreeMap<>(commands).forEach((n, c) -> out.printf("  %-10s %s%n", n, c.summary()));
            return 0;
        }
        ControlCommand command = awaitCommand(args.get(0));
        if (command == null) {
            err.println("netvm: unknown command '" + args.get(0) + "' (available: "
                    + String.join(", ", new TreeMap<>(commands).keySet()) + ")");
            return 2;
        }
        try {
            return command.run(List.copyOf(args.subList(1, args.size())), out, err);
        } catch (RuntimeException e) {
            log.error("command {} failed", args.get(0), e);
            err.println("netvm " + args.get(0) + ": internal error: " + e);
            return 1;
        }
    }

    /**
     * The named command; while the agent is starting (the start-up grace period) a command that is
     * not registered yet is waited for, so a hotplug request that arrives before the vif service is
     * up is served instead of failing. A command that was registered and went away is not waited
     * for. Null when it does not exist (after the grace period: at once).
     */
    private ControlCommand awaitCommand(String name) {
        synchronized (registered) {
            while (true) {
                ControlCommand c = commands.get(name);
                long left = graceEndNanos - System.nanoTime();
                if (c != null || left <= 0 || seen.contains(name) || !server.isOpen()) {
                    return c;
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(registered, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return null;
                }
            }
        }
    }

    /** Turns each write into one frame of the response. */
    private static final class FrameOutputStream extends OutputStream {
        private final OutputStream raw;
        private final char channel;
        private final Object lock;

        private final java.util.concurrent.atomic.AtomicBoolean gone;

        FrameOutputStream(OutputStream raw, char channel, Object lock, java.util.concurrent.atomic.AtomicBoolean gone) {
            this.raw = raw;
            this.channel = channel;
            this.lock = lock;
            this.gone = gone;
        }

        @Override
        public void flush() throws IOException {
            if (gone.get()) {
                throw new IOException("the client went away");
            }
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return;
            }
            byte[] copy = java.util.Arrays.copyOfRange(b, off, off + len);
            synchronized (lock) {
                ControlProtocol.writeFrame(raw, channel, copy);
            }
        }
    }
}
