package org.netvm.dataplane.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.regex.Pattern;

/**
 * The marker as a file {@code <dir>/forwarding.<netns inode>} holding the kernel's boot id, in a
 * directory that a reboot empties ({@code /run/netvm}). The network namespace's inode keeps agents of
 * different namespaces on one host apart; the boot id makes a marker of an earlier boot (a
 * persistent directory, a reused inode) count for nothing.
 */
final class FileForwardingMarker implements ForwardingMarker {
    private static final Pattern NETNS = Pattern.compile("net:\\[(\\d{1,20})\\]");
    private static final Pattern BOOT_ID = Pattern.compile("[0-9a-f-]{36}");

    private final Path dir;
    private final Path nsLink;
    private final Path bootIdFile;

    FileForwardingMarker(Path dir) {
        this(dir, Path.of("/proc/self/ns/net"), Path.of("/proc/sys/kernel/random/boot_id"));
    }

    FileForwardingMarker(Path dir, Path nsLink, Path bootIdFile) {
        this.dir = dir;
        this.nsLink = nsLink;
        this.bootIdFile = bootIdFile;
    }

    @Override
    public boolean present() {
        try {
            String content = Files.readString(file(), StandardCharsets.US_ASCII).strip();
            return content.equals(bootId());
        } catch (NoSuchFileException e) {
            return false;
        } catch (IOException | RuntimeException e) {
            return false; // unreadable: no proof of a previous run, so fail closed
        }
    }

    @Override
    public void set() {
        try {
            Files.createDirectories(dir);
            Path f = file();
            Path tmp = f.resolveSibling(f.getFileName() + ".tmp");
            Files.writeString(tmp, bootId() + "\n", StandardCharsets.US_ASCII);
            Files.move(tmp, f, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new IllegalStateException("cannot write the forwarding marker in " + dir + ": " + e, e);
        }
    }

    @Override
    public void clear() {
        try {
            Files.deleteIfExists(file());
        } catch (IOException e) {
            throw new IllegalStateException("cannot remove the forwarding marker in " + dir + ": " + e, e);
        }
    }

    Path file() throws IOException {
        var m = NETNS.matcher(Files.readSymbolicLink(nsLink).toString());
        if (!m.matches()) {
            throw new IOException("unexpected network namespace link " + nsLink);
        }
        return dir.resolve("forwarding." + m.group(1));
    }

    private String bootId() throws IOException {
        String id = Files.readString(bootIdFile, StandardCharsets.US_ASCII).strip();
        if (!BOOT_ID.matcher(id).matches()) {
            throw new IOException("unexpected boot id in " + bootIdFile);
        }
        return id;
    }
}
