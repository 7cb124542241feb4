package org.netvm.vif.internal;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.io.FileInputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@link HotplugFiles} in a directory of the root file system (next to the control socket, mode 0700):
 * {@code requests} (FIFO, held open read-write by the agent, so a script's write never blocks and
 * nothing written is lost while the agent runs), {@code slot.K} (FIFOs; the agent opens one read-write
 * for each answer and closes it: an answer nobody waits for any more disappears with it),
 * {@code claim.K} (made by the scripts, O_EXCL), {@code agent} ("PID SECONDS"). FIFOs are made with
 * libc's {@code mkfifo} (a foreign call; the JDK has none).
 */
final class FifoDirectory implements HotplugFiles {
    static final String REQUESTS = "requests";
    static final String AGENT = "agent";
    private static final Pattern OURS = Pattern.compile("requests|agent|agent\\.tmp|(slot|claim)\\.(0|[1-9][0-9]{0,2})");
    private static final Pattern CLAIM = Pattern.compile("claim\\.(0|[1-9][0-9]{0,2})");
    private static final int MAX_LINE = 512;

    private final Path dir;
    private FileChannel requests;
    private final ByteBuffer buffer = ByteBuffer.allocate(4096).flip();
    private volatile boolean closed;

    FifoDirectory(Path dir) {
        this.dir = dir;
    }

    /** The directory of the channel for a control socket: {@code /run/netvm/control.sock} → {@code /run/netvm/control.hotplug}. */
    static Path nextTo(String controlSocket) {
        String s = controlSocket.endsWith(".sock") ? controlSocket.substring(0, controlSocket.length() - 5) : controlSocket;
        return Path.of(s + ".hotplug");
    }

    /**
     * This process as the script recognizes it: "PID START", START being field 22 of
     * {@code /proc/self/stat} (the start time in clock ticks after boot), so a reused pid is not us.
     */
    static String selfIdentity() throws IOException {
        String stat = Files.readString(Path.of("/proc/self/stat"), StandardCharsets.US_ASCII);
        String[] f = stat.substring(stat.lastIndexOf(") ") + 2).strip().split(" ");
        if (f.length < 20 || !f[19].matches("[0-9]{1,20}")) {
            throw new IOException("unexpected /proc/self/stat");
        }
        return ProcessHandle.current().pid() + " " + f[19];
    }

    @Override
    public void open(int slots, String agentLine) throws IOException {
        Files.createDirectories(dir.toAbsolutePath().getParent());
        if (Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
                throw new IOException(dir + " exists and is not a directory");
            }
            removeOurs();
        } else {
            Files.createDirectory(dir);
        }
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        mkfifo(dir.resolve(REQUESTS));
        for (int k = 0; k < slots; k++) {
            mkfifo(dir.resolve("slot." + k));
        }
        requests = FileChannel.open(dir.resolve(REQUESTS), StandardOpenOption.READ, StandardOpenOption.WRITE);
        Path tmp = dir.resolve("agent.tmp");
        Files.writeString(tmp, agentLine + "\n", StandardCharsets.US_ASCII);
        Files.move(tmp, dir.resolve(AGENT), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    @Override
    public String readRequest() throws IOException {
        StringBuilder line = new StringBuilder();
        boolean overlong = false;
        while (!closed) {
            if (!buffer.hasRemaining()) {
                buffer.clear();
                int n = requests.read(buffer);
                buffer.flip();
                if (n < 0) {
                    throw new IOException("request FIFO closed");
                }
                continue;
            }
            byte b = buffer.get();
            if (b == '\n') {
                if (overlong) { // the rest of a line that was too long: dropped whole
                    overlong = false;
                    line.setLength(0);
                    continue;
                }
                return closed ? null : line.toString();
            }
            if (line.length() >= MAX_LINE) {
                overlong = true;
            } else {
                line.append(b >= 0x20 && b < 0x7f ? (char) b : '?');
            }
        }
        return null;
    }

    @Override
    public void reply(int slot, String line) throws IOException {
        try (FileChannel c = FileChannel.open(dir.resolve("slot." + slot), StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            c.write(ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.US_ASCII)));
        }
    }

    @Override
    public boolean unread(int slot) throws IOException {
        // read-write: an open that never blocks, whether or not the script still holds the FIFO; the
        // stream's available() asks the kernel how many bytes the FIFO holds (FIONREAD)
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("slot." + slot).toFile(), "rw")) {
            return new FileInputStream(f.getFD()).available() > 0;
        }
    }

    @Override
    public void release(int slot) throws IOException {
        Files.deleteIfExists(dir.resolve("claim." + slot));
    }

    @Override
    public void releaseStale(long olderThanMillis, Set<Integer> busy) throws IOException {
        long limit = System.currentTimeMillis() - olderThanMillis;
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, "claim.*")) {
            for (Path p : s) {
                Matcher m = CLAIM.matcher(p.getFileName().toString());
                try {
                    if (m.matches() && !busy.contains(Integer.parseInt(m.group(1)))
                            && Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS).toMillis() < limit) {
                        Files.deleteIfExists(p);
                    }
                } catch (NoSuchFileException e) {
                    // released meanwhile
                }
            }
        }
    }

    @Override
    public void withdraw() throws IOException {
        Files.deleteIfExists(dir.resolve(AGENT));
    }

    @Override
    public void close() {
        closed = true;
        try {
            if (requests != null) {
                // wakes the reader; through a channel of its own (a FileChannel's reads and writes share a lock)
                try (FileChannel wake = FileChannel.open(dir.resolve(REQUESTS), StandardOpenOption.READ,
                        StandardOpenOption.WRITE)) {
                    wake.write(ByteBuffer.wrap(new byte[] {'\n'}));
                }
                requests.close();
            }
            removeOurs();
            Files.deleteIfExists(dir);
        } catch (IOException e) {
            System.getLogger(FifoDirectory.class.getName()).log(System.Logger.Level.WARNING,
                    "hotplug channel: cannot remove " + dir + ": " + e.getMessage());
        }
    }

    /** Removes the channel's own files (nothing else, no recursion). */
    private void removeOurs() throws IOException {
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
            for (Path p : s) {
                if (OURS.matcher(p.getFileName().toString()).matches()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    // ---- mkfifo(3), the one foreign call

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final MethodHandle MKFIFO = LINKER.downcallHandle(
            LINKER.defaultLookup().find("mkfifo").orElseThrow(() -> new UnsatisfiedLinkError("mkfifo")),
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), Linker.Option.captureCallState("errno"));

    private static void mkfifo(Path p) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment state = a.allocate(CAPTURE);
            int rc = (int) MKFIFO.invokeExact(state, a.allocateFrom(p.toString()), 0600);
            if (rc != 0) {
                throw new IOException("mkfifo " + p + ": errno " + (int) ERRNO.get(state, 0L));
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("mkfifo " + p + ": " + t, t);
        }
    }
}
