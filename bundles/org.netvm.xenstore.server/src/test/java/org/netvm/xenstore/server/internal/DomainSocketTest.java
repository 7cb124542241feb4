package org.netvm.xenstore.server.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.netvm.xenstore.wire.MessageType.GET_DOMAIN_PATH;
import static org.netvm.xenstore.wire.MessageType.INTRODUCE;
import static org.netvm.xenstore.wire.MessageType.READ;
import static org.netvm.xenstore.wire.MessageType.RELEASE;
import static org.netvm.xenstore.wire.MessageType.SET_PERMS;
import static org.netvm.xenstore.wire.MessageType.WATCH;
import static org.netvm.xenstore.wire.MessageType.WRITE;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Per-domain sockets over real Unix sockets: identity, permissions, introduce/release. */
class DomainSocketTest {

    @TempDir
    Path tmp;
    EmbeddedXenstored xs;
    RawClient dom0;

    @BeforeEach
    void start() throws Exception {
        xs = EmbeddedXenstored.start(tmp.resolve("socket"), Options.defaults().withDomainSocketDir(tmp.resolve("domains")));
        dom0 = new RawClient(xs.socketPath());
    }

    @AfterEach
    void stop() throws Exception {
        dom0.close();
        xs.close();
    }

    /** What a toolstack does for a new guest: its home, owned by it, readable by dom0. */
    void makeHome(int domid) throws Exception {
        assertEquals("OK", dom0.req(WRITE, "/local/domain/" + domid + "/name\0vm" + domid));
        assertEquals("OK", dom0.req(SET_PERMS, "/local/domain/" + domid + "\0n" + domid + "\0r0\0"));
        assertEquals("OK", dom0.req(SET_PERMS, "/local/domain/" + domid + "/name\0n" + domid + "\0"));
    }

    @Test
    void introduceCreatesADomainSocketWhoseClientsAreThatDomain() throws Exception {
        makeHome(5);
        makeHome(6);
        assertEquals("OK", dom0.req(WATCH, "@introduceDomain\0i\0"));
        assertEquals("OK", dom0.req(INTRODUCE, "5\0" + "0\0" + "1\0"));
        assertEquals(List.of("@introduceDomain i", "@introduceDomain i"), dom0.events(2, 2000));
        Path sock5 = tmp.resolve("domains/domain-5.sock");
        assertTrue(Files.exists(sock5));
        assertFalse(Files.exists(tmp.resolve("domains/domain-6.sock")), "6 was not introduced");
        try (RawClient d5 = new RawClient(sock5)) {
            assertEquals("vm5", d5.req(READ, "name\0"), "relative to /local/domain/5");
            assertEquals("OK", d5.req(WRITE, "data/x\0v"));
            assertEquals("v", dom0.req(READ, "/local/domain/5/data/x\0"));
            assertEquals("EACCES", d5.req(READ, "/local/domain/6/name\0"));
            assertEquals("EACCES", d5.req(WRITE, "/local/domain/6/name\0x"));
            assertEquals("OK", dom0.req(WRITE, "/shared/for5\0granted"));
            assertEquals("EACCES", d5.req(READ, "/shared/for5\0"));
            assertEquals("OK", dom0.req(SET_PERMS, "/shared/for5\0n0\0r5\0"));
            assertEquals("granted", d5.req(READ, "/shared/for5\0"));
            assertEquals("EACCES", d5.req(INTRODUCE, "7\0" + "0\0" + "1\0"));
            assertEquals("EACCES", d5.req(RELEASE, "6\0"));
            assertEquals("/local/domain/5|", d5.req(GET_DOMAIN_PATH, "5\0"));
        }
    }

    @Test
    void releaseClosesTheDomainsConnectionsRemovesItsSocketAndFiresReleaseDomain() throws Exception {
        makeHome(5);
        assertTrue(xs.introduce(5));
        Path sock5 = tmp.resolve("domains/domain-5.sock");
        assertEquals("OK", dom0.req(WATCH, "@releaseDomain\0r\0"));
        dom0.events(1, 2000);
        try (RawClient d5 = new RawClient(sock5)) {
            assertEquals("vm5", d5.req(READ, "name\0"));
            assertEquals("OK", dom0.req(RELEASE, "5\0"));
            assertTrue(d5.closedWithin(2000), "connection closed");
        }
        assertEquals(List.of("@releaseDomain r"), dom0.events(1, 2000));
        assertFalse(Files.exists(sock5));
        assertEquals("ENOENT", dom0.req(READ, "/local/domain/5\0"), "the nodes it owned are gone, as in C");
        assertFalse(xs.release(5));
    }

    @Test
    void anOversizedHeaderClosesOnlyThatConnection() throws Exception {
        try (RawClient bad = new RawClient(xs.socketPath())) {
            ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
            b.putInt(2).putInt(1).putInt(0).putInt(4097).flip();
            bad.sendRaw(b);
            assertTrue(bad.closedWithin(2000));
        }
        assertEquals("", dom0.req(READ, "/tool/xenstored\0"), "others keep working");
    }
}
