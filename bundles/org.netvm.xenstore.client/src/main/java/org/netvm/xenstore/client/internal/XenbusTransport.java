package org.netvm.xenstore.client.internal;

import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.Objects;

/**
 * The xenbus character device ({@code /dev/xen/xenbus}) of a guest or of a dom0 whose xenstored runs in
 * a stub domain: whole requests are written, replies and watch events read back as a byte stream.
 *
 * <p>A single {@link FileChannel} serialises {@code read} and {@code write} on one lock, so a reader
 * blocked waiting for a reply would block every writer. The device is therefore opened once and
 * wrapped in two channels on the same file descriptor: one only reads, one only writes.
 *
 * <p>Not tested against a real device (none on the build machines); the two-channel mechanics are
 * tested on a FIFO.
 */
public final class XenbusTransport implements Transport {

    private final Path device;

    public XenbusTransport(Path device) {
        this.device = Objects.requireNonNull(device, "device");
    }

    @Override
    public Connection connect() throws IOException {
        RandomAccessFile file = new RandomAccessFile(device.toFile(), "rw");
        try {
            FileDescriptor fd = file.getFD();
            FileChannel in = new FileInputStream(fd).getChannel();
            FileChannel out = new FileOutputStream(fd).getChannel();
            // closing the reading channel first wakes the reader blocked in read(2)
            return new ChannelConnection(in, out, in, out, file);
        } catch (IOException | RuntimeException e) {
            file.close();
            throw e;
        }
    }

    @Override
    public String name() {
        return "xenbus";
    }

    @Override
    public String address() {
        return device.toString();
    }
}
