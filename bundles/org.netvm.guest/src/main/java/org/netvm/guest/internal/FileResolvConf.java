package org.netvm.guest.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

/**
 * Writes resolv.conf atomically: a temporary file in the same directory renamed over the old one,
 * so a reader never sees a half-written file. Where the file is a mount point (a bind mount, as in
 * containers and under {@code ip netns exec}) renaming over it fails, so it is rewritten in place.
 */
public final class FileResolvConf implements ResolvConf {

    private final Path mountinfo;

    public FileResolvConf() {
        this(Path.of("/proc/self/mountinfo"));
    }

    FileResolvConf(Path mountinfo) {
        this.mountinfo = mountinfo;
    }

    @Override
    public boolean write(Path path, String content) throws IOException {
        byte[] bytes = content.getBytes(StandardCharsets.UTF_8);
        try {
            if (java.util.Arrays.equals(Files.readAllBytes(path), bytes)) {
                return false;
            }
        } catch (NoSuchFileException e) {
            // created below
        }
        if (isMountPoint(path)) {
            try (FileChannel ch = FileChannel.open(path, StandardOpenOption.WRITE)) {
                ch.truncate(0);
                ch.write(ByteBuffer.wrap(bytes));
                ch.force(false);
            }
            return true;
        }
        Path dir = path.toAbsolutePath().getParent();
        Path tmp = Files.createTempFile(dir, ".resolv.conf.", ".netvm",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-r--r--")));
        try {
            Files.write(tmp, bytes);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.force(false);
            }
            Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
        return true;
    }

    /** True when {@code path} is the mount point of some mount in this mount namespace. */
    boolean isMountPoint(Path path) throws IOException {
        String target = path.toAbsolutePath().normalize().toString();
        List<String> lines;
        try {
            lines = Files.readAllLines(mountinfo);
        } catch (NoSuchFileException e) {
            return false;
        }
        for (String line : lines) {
            String[] f = line.split(" ");
            if (f.length > 4 && unescape(f[4]).equals(target)) {
                return true;
            }
        }
        return false;
    }

    /** mountinfo escapes space, tab, newline and backslash as octal. */
    static String unescape(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length()) {
                try {
                    b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                    i += 3;
                    continue;
                } catch (NumberFormatException | StringIndexOutOfBoundsException e) {
                    // literal backslash
                }
            }
            b.append(c);
        }
        return b.toString();
    }
}
