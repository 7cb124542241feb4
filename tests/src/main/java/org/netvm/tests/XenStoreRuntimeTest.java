package org.netvm.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.netvm.xenstore.Permission;
import org.netvm.xenstore.XenStore;
import org.netvm.xenstore.wire.Message;
import org.netvm.xenstore.wire.MessageType;
import org.osgi.framework.BundleContext;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.junit5.context.BundleContextExtension;
import org.osgi.test.junit5.service.ServiceExtension;

/**
 * The runtime as the launcher starts it with {@code --xenstore embedded:PATH}: the embedded
 * xenstored serves, the client registers {@link XenStore}, and {@code netvm xs} reaches it.
 */
@ExtendWith({BundleContextExtension.class, ServiceExtension.class})
class XenStoreRuntimeTest {

    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 10000)
    XenStore xs;

    Path control;

    @BeforeEach
    void connected() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(String.valueOf(context.getProperty("netvm.xenstore")).startsWith("embedded:")
                && "netvm".equals(context.getProperty("netvm.role")), "netvm role with the embedded xenstored only");
        control = Path.of(context.getProperty("netvm.control"));
        Cli.waitFor(control);
        for (int i = 0; i < 200 && !xs.isConnected(); i++) {
            Thread.sleep(25);
        }
        assertTrue(xs.isConnected(), "the client connects to the embedded xenstored");
    }

    @Test
    void theCliReadsAndWritesThroughTheAgent() throws Exception {
        Cli.Result w = Cli.run(control, "xs", "write", "/itest/a", "two words", "/itest/b", "x\"y\nz");
        assertEquals(0, w.status(), w.err());
        assertEquals("two words", xs.read("/itest/a"));
        Cli.Result r = Cli.run(control, "xs", "read", "/itest/a");
        assertEquals("two words\n", r.out());
        Cli.Result ls = Cli.run(control, "xs", "ls", "/itest");
        assertEquals("/itest/a = \"two words\"\n/itest/b = \"x\\\"y\\x0az\"\n", ls.out(), "values are escaped, one line each");
        Cli.Result missing = Cli.run(control, "xs", "read", "/itest/nope");
        assertEquals(1, missing.status());
        assertTrue(missing.err().contains("ENOENT"), missing.err());
        assertEquals(2, Cli.run(control, "xs", "chmod", "/itest/a", "q5").status(), "a bad permission is a usage error");
        assertEquals(0, Cli.run(control, "xs", "rm", "/itest").status());
        assertTrue(xs.readIfExists("/itest/a").isEmpty());
    }

    @Test
    void anIntroducedDomainGetsItsOwnSocketAndOnlyItsOwnKeys() throws Exception {
        Path domains = Path.of(context.getProperty("netvm.xenstore").substring("embedded:".length())).resolveSibling("domains");
        xs.write("/local/domain/7/qubes-ip", "10.137.0.7");
        xs.setPermissions("/local/domain/7", List.of(new Permission(7, Permission.Access.NONE)));
        xs.setPermissions("/local/domain/7/qubes-ip", List.of(new Permission(0, Permission.Access.NONE),
                new Permission(7, Permission.Access.READ)));
        xs.write("/local/domain/0/secret", "s");
        assertEquals(0, Cli.run(control, "xs", "introduce", "7").status());
        Path socket = domains.resolve("domain-7.sock");
        assertTrue(Files.exists(socket), "domain socket " + socket);
        try (SocketChannel guest = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            guest.connect(UnixDomainSocketAddress.of(socket));
            assertEquals("10.137.0.7", call(guest, MessageType.READ, "qubes-ip").text(), "relative to its home");
            Message denied = call(guest, MessageType.READ, "/local/domain/0/secret");
            assertEquals(MessageType.ERROR, denied.messageType());
            assertEquals("EACCES", denied.text());
            Message write = call(guest, MessageType.WRITE, "/local/domain/7/qubes-ip");
            assertEquals(MessageType.ERROR, write.messageType(), "read-only for the guest");
        }
        assertEquals(0, Cli.run(control, "xs", "release", "7").status());
        assertTrue(Files.notExists(socket));
    }

    private static Message call(SocketChannel ch, MessageType type, String path) throws Exception {
        byte[] payload = type == MessageType.WRITE ? Message.pathAndValue(path, "x".getBytes()) : Message.strings(path);
        ch.write(new Message(type, 1, 0, payload).encode());
        ByteBuffer header = ByteBuffer.allocate(Message.HEADER_SIZE);
        while (header.hasRemaining()) {
            ch.read(header);
        }
        header.flip();
        ByteBuffer all = ByteBuffer.allocate(Message.HEADER_SIZE + Message.payloadLength(header));
        all.put(header);
        while (all.hasRemaining()) {
            ch.read(all);
        }
        return Message.decode(all.flip());
    }
}
