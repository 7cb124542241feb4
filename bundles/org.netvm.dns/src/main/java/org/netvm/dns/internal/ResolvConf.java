package org.netvm.dns.internal;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;

import org.netvm.dataplane.IpAddress;

/**
 * Strict parser of the {@code nameserver} lines of a resolv.conf file (glibc syntax).
 *
 * <ul>
 * <li>Only the first {@value #MAX_BYTES} bytes are read; a line cut there is ignored. Bytes are taken
 * as ISO-8859-1, so any byte sequence parses (non-ASCII never forms an address).</li>
 * <li>A nameserver line is {@code nameserver}, at the start of the line, then spaces or tabs, one
 * address literal, then optionally spaces or tabs and a {@code #} or {@code ;} comment. Anything else on
 * such a line (two addresses, a host name, {@code 010.1.1.1}, {@code 1.2.3.4%eth0}, {@code 1.2.3.4:53})
 * rejects the whole line.</li>
 * <li>Comments ({@code #}, {@code ;} at the start of a line), blank lines and other keywords
 * ({@code search}, {@code domain}, {@code options}, {@code sortlist}) are ignored.</li>
 * <li>At most {@value #MAX_NAMESERVERS} addresses are kept, in file order, duplicates included.</li>
 * </ul>
 */
final class ResolvConf {
    static final int MAX_BYTES = 64 * 1024;
    static final int MAX_NAMESERVERS = 32;
    private static final String KEYWORD = "nameserver";

    /**
     * What a file said.
     *
     * @param nameservers the addresses of well-formed nameserver lines, IPv4 and IPv6
     * @param rejected    nameserver lines refused as malformed
     * @param truncated   whether the file was longer than {@link #MAX_BYTES}
     * @param whole       whether the text ended with a line break (not empty, not cut mid-line): a writer
     *                    rewriting the file in place is not half-way (or between its lines)
     */
    record Parsed(List<InetAddress> nameservers, int rejected, boolean truncated, boolean whole) {
        Parsed {
            nameservers = List.copyOf(nameservers);
        }

        Parsed(List<InetAddress> nameservers, int rejected, boolean truncated) {
            this(nameservers, rejected, truncated, true);
        }

        static final Parsed EMPTY = new Parsed(List.of(), 0, false);
    }

    private ResolvConf() {
    }

    /**
     * Reads and parses {@code file} (following symbolic links). Anything but a regular file (a FIFO, a
     * device, a directory) is refused before it is opened: opening a FIFO would block until a writer
     * came, and the watcher with it.
     *
     * @throws IOException also when the file is not a regular file
     */
    static Parsed read(Path file) throws IOException {
        Path real = file.toRealPath();
        if (!Files.readAttributes(real, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).isRegularFile()) {
            throw new IOException("not a regular file: " + real);
        }
        byte[] buf;
        boolean truncated;
        try (InputStream in = Files.newInputStream(real, LinkOption.NOFOLLOW_LINKS)) {
            buf = in.readNBytes(MAX_BYTES + 1);
        }
        truncated = buf.length > MAX_BYTES;
        String text = new String(buf, 0, Math.min(buf.length, MAX_BYTES), StandardCharsets.ISO_8859_1);
        if (truncated) {
            int nl = text.lastIndexOf('\n');
            text = nl < 0 ? "" : text.substring(0, nl + 1);
        }
        Parsed p = parse(text);
        return new Parsed(p.nameservers(), p.rejected(), truncated,
                truncated || buf.length > 0 && buf[buf.length - 1] == '\n');
    }

    static Parsed parse(String text) {
        List<InetAddress> out = new ArrayList<>();
        int rejected = 0;
        int start = 0;
        while (start < text.length()) {
            int end = text.indexOf('\n', start);
            if (end < 0) {
                end = text.length();
            }
            String line = text.substring(start, end);
            start = end + 1;
            if (line.endsWith("\r")) {
                line = line.substring(0, line.length() - 1);
            }
            boolean nameserverLine = line.startsWith(KEYWORD)
                    && (line.length() == KEYWORD.length() || blank(line.charAt(KEYWORD.length())));
            if (!nameserverLine) {
                continue; // comment, blank, other keyword (glibc needs a blank after the keyword too)
            }
            InetAddress a = address(line.substring(KEYWORD.length()));
            if (a == null) {
                rejected++;
            } else if (out.size() < MAX_NAMESERVERS) {
                out.add(a);
            }
        }
        return new Parsed(out, rejected, false);
    }

    /** The address of the rest of a nameserver line, or null if it is not exactly one literal (+ comment). */
    private static InetAddress address(String rest) {
        int i = 0;
        while (i < rest.length() && blank(rest.charAt(i))) {
            i++;
        }
        int from = i;
        while (i < rest.length() && !blank(rest.charAt(i)) && rest.charAt(i) != '#' && rest.charAt(i) != ';') {
            i++;
        }
        String token = rest.substring(from, i);
        while (i < rest.length() && blank(rest.charAt(i))) {
            i++;
        }
        if (token.isEmpty() || i < rest.length() && rest.charAt(i) != '#' && rest.charAt(i) != ';') {
            return null;
        }
        try {
            return InetAddress.getByAddress(IpAddress.of(token).bytes());
        } catch (IllegalArgumentException | UnknownHostException e) {
            return null;
        }
    }

    private static boolean blank(char c) {
        return c == ' ' || c == '\t';
    }
}
