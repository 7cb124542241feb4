package org.netvm.vif.internal;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.netvm.util.LogLimiter;

/**
 * The Xen hotplug script's fast channel: {@code vif-route-netvm online|offline} without a client
 * process. The script (shell builtins only) claims a reply slot, writes one request line
 * {@code TOKEN SLOT online|offline VIF XENBUS_PATH} into the request FIFO and reads
 * {@code TOKEN STATUS [MESSAGE]} from its slot; the files are behind {@link HotplugFiles}.
 *
 * <p>Each request is carried out by the same {@link VifCommand} as {@code netvm vif online|offline}
 * over the control socket, on a thread of its own (it waits for the reconciler): the same strict
 * checks of the values, the same {@code hotplug-status}/{@code hotplug-error} writes, the same exit
 * status (0 done, 1 failed and reported, 2 not reported). Status 3 tells the script to ask over the
 * control socket instead: a request this version does not understand, or too many at once.
 */
final class HotplugChannel {
    private static final System.Logger LOG = System.getLogger(HotplugChannel.class.getName());

    /** Reply slots, as many concurrent script calls (a script finding none free uses the control socket). */
    static final int SLOTS = 64;
    /** Requests carried out at once. */
    static final int MAX_CONCURRENT = SLOTS;
    /** Status of an answer that sends the script to the control socket. */
    static final int USE_CONTROL_SOCKET = 3;
    /** How often claims of scripts that never sent their request are looked for. */
    static final long SWEEP_MILLIS = 60_000;

    private static final Pattern ADDRESS = Pattern.compile("([0-9]{1,10}\\.[0-9]{1,5}) (0|[1-9][0-9]?)(?: .*)?");
    private static final Pattern REQUEST =
            Pattern.compile("[0-9.]+ [0-9]+ (online|offline) ([\\x21-\\x7e]{1,64}) ([\\x21-\\x7e]{1,64})");
    private static final int MAX_MESSAGE = 300;

    /** {@code netvm vif ARGS}: {@link VifCommand#run}. */
    interface Command {
        int run(List<String> args, PrintStream out, PrintStream err);
    }

    private final HotplugFiles files;
    private final Command command;
    private final long deadlineSeconds;
    private final LongSupplier millis;
    private final Semaphore permits = new Semaphore(MAX_CONCURRENT);
    private final Set<Integer> busy = ConcurrentHashMap.newKeySet();
    private final LogLimiter dropped = new LogLimiter(5, 60_000_000_000L, System::nanoTime);
    private volatile boolean running;
    private Thread reader;
    private long lastSweep;

    /**
     * @param deadlineSeconds how long a script waits for an answer before it reports the agent as not
     *                        reached (the hotplug timeout and some margin)
     */
    HotplugChannel(HotplugFiles files, Command command, long deadlineSeconds, LongSupplier millis) {
        this.files = files;
        this.command = command;
        this.deadlineSeconds = deadlineSeconds;
        this.millis = millis;
    }

    /** A started channel, or null (logged) if its files cannot be made: the script then uses the control socket. */
    static HotplugChannel startOrNull(HotplugFiles files, Command command, long deadlineSeconds) {
        HotplugChannel c = new HotplugChannel(files, command, deadlineSeconds, System::currentTimeMillis);
        try {
            c.start(FifoDirectory.selfIdentity());
            return c;
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.WARNING, "no fast hotplug channel (the script uses the control socket): " + e.getMessage());
            files.close();
            return null;
        }
    }

    /** Makes the files and starts reading requests; {@code identity}: "PID START" of this process. */
    void start(String identity) throws IOException {
        files.open(SLOTS, identity + " " + deadlineSeconds);
        running = true;
        lastSweep = millis.getAsLong();
        reader = Thread.ofPlatform().daemon().name("netvm-vif-hotplug").start(this::readLoop);
    }

    /**
     * Stops: new script calls use the control socket; calls being carried out are answered (the
     * reconciler has stopped by then, so they end at once); then the files go.
     */
    void stop() {
        running = false;
        try {
            files.withdraw();
        } catch (IOException e) {
            LOG.log(Level.WARNING, "hotplug channel: " + e.getMessage());
        }
        try {
            if (permits.tryAcquire(MAX_CONCURRENT, 5, TimeUnit.SECONDS)) {
                permits.release(MAX_CONCURRENT);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        files.close();
        if (reader != null) {
            try {
                reader.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void readLoop() {
        while (running) {
            String line;
            try {
                line = files.readRequest();
            } catch (IOException e) {
                if (running) {
                    LOG.log(Level.WARNING, "hotplug channel closed, scripts use the control socket: " + e.getMessage());
                    running = false;
                    try {
                        files.withdraw();
                    } catch (IOException ignored) {
                        // the script finds the reader gone only by its deadline then
                    }
                }
                return;
            }
            if (line == null || !running) {
                return;
            }
            dispatch(line);
            sweep();
        }
    }

    /** Takes one request line: hands it to a thread of its own, or answers at once. */
    void dispatch(String line) {
        Matcher a = ADDRESS.matcher(line);
        if (!a.matches()) {
            drop(line);
            return;
        }
        String token = a.group(1);
        int slot = Integer.parseInt(a.group(2));
        if (slot >= SLOTS) {
            drop(line);
            return;
        }
        Matcher r = REQUEST.matcher(line);
        if (!r.matches()) {
            answer(token, slot, USE_CONTROL_SOCKET, "request not understood");
            return;
        }
        if (!permits.tryAcquire()) {
            answer(token, slot, USE_CONTROL_SOCKET, "busy");
            return;
        }
        busy.add(slot);
        List<String> args = List.of(r.group(1), "--vif", r.group(2), "--xenbus-path", r.group(3));
        try {
            // not named netvm-*: a throwable in one call is logged by the runtime's guard, the agent goes on
            Thread.ofPlatform().daemon().name("vif-hotplug-call").start(() -> {
                try {
                    serve(token, slot, args);
                } finally {
                    busy.remove(slot);
                    permits.release();
                }
            });
        } catch (RuntimeException | OutOfMemoryError e) {
            busy.remove(slot);
            permits.release();
            answer(token, slot, USE_CONTROL_SOCKET, "no thread");
        }
    }

    /** Carries out one request as {@code netvm vif ARGS} does and answers with its status and first error line. */
    void serve(String token, int slot, List<String> args) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status;
        try (PrintStream out = new PrintStream(OutputStream.nullOutputStream(), true, StandardCharsets.UTF_8);
                PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            status = command.run(args, out, e);
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "hotplug " + args + ": " + e, e);
            status = 2;
            err.writeBytes(("netvm vif: " + e).getBytes(StandardCharsets.UTF_8));
        }
        String text = err.toString(StandardCharsets.UTF_8);
        int nl = text.indexOf('\n');
        answer(token, slot, status, nl < 0 ? text : text.substring(0, nl));
    }

    private void answer(String token, int slot, int status, String message) {
        String m = VifCommand.clean(message.strip());
        if (m.length() > MAX_MESSAGE) {
            m = m.substring(0, MAX_MESSAGE);
        }
        try {
            files.reply(slot, token + " " + status + (m.isEmpty() ? "" : " " + m));
        } catch (IOException e) {
            LOG.log(Level.WARNING, "hotplug channel: cannot answer in slot " + slot + ": " + e.getMessage());
        }
        releaseOnceRead(slot);
    }

    /**
     * Frees {@code slot} once its script has read the whole answer (or is gone). Freed at once, the slot
     * could be claimed by the next script before this one has read (a busy machine): the next script would
     * read this answer, drop it as the late answer of an earlier call, and this one would wait in vain until
     * its deadline. Waits on a thread of its own, polling, at most as long as a claim may be stale.
     */
    private void releaseOnceRead(int slot) {
        if (!unread(slot)) {
            release(slot);
            return;
        }
        long until = millis.getAsLong() + (deadlineSeconds + 60) * 1000;
        Thread.ofVirtual().name("vif-hotplug-slot").start(() -> {
            try {
                for (long pause = 1; running && unread(slot) && millis.getAsLong() < until; pause = Math.min(pause * 2, 100)) {
                    Thread.sleep(pause);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            release(slot);
        });
    }

    private boolean unread(int slot) {
        try {
            return files.unread(slot);
        } catch (IOException e) {
            return false; // the FIFO cannot be looked at (the directory went away): nothing to wait for
        }
    }

    private void release(int slot) {
        try {
            files.release(slot);
        } catch (IOException e) {
            if (running) {
                LOG.log(Level.WARNING, "hotplug channel: cannot free slot " + slot + ": " + e.getMessage());
            }
        }
    }

    /** Once a minute: frees the slots of scripts that claimed one and never sent their request. */
    private void sweep() {
        long now = millis.getAsLong();
        if (now - lastSweep < SWEEP_MILLIS) {
            return;
        }
        lastSweep = now;
        try {
            files.releaseStale((deadlineSeconds + 60) * 1000, Set.copyOf(busy));
        } catch (IOException e) {
            LOG.log(Level.WARNING, "hotplug channel: " + e.getMessage());
        }
    }

    private void drop(String line) {
        for (String l : dropped.admit("hotplug", "hotplug channel: request dropped (no token and slot): "
                + VifStatus.logText(line))) {
            LOG.log(Level.WARNING, l);
        }
    }
}
