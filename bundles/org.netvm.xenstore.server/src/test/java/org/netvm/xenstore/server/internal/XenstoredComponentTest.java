package org.netvm.xenstore.server.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.netvm.testing.config.Configs;
import org.netvm.xenstore.wire.MessageType;

class XenstoredComponentTest {

    @TempDir
    Path tmp;

    XenstoredComponent.Config config(String socket, String domainDir, int maxWatches) {
        return Configs.of(XenstoredComponent.Config.class, "socketPath", socket, "domainSocketDir", domainDir,
                "socketMode", "0660", "quotaMaxWatches", maxWatches, "quotaMaxConnections", 3,
                "quotaMemory", 100_000L, "quotaMemorySoft", 50_000L);
    }

    @Test
    void configurationMapsToOptions() {
        Options o = XenstoredComponent.options(config("/x", "", 7));
        assertEquals(null, o.domainSocketDir(), "empty = no domain sockets");
        assertEquals(7, o.quotas().maxWatches());
        assertEquals(3, o.quotas().maxConnections());
        assertEquals(100_000, o.quotas().memoryHard());
        assertEquals(Path.of("/d"), XenstoredComponent.options(config("/x", "/d", 7)).domainSocketDir());
    }

    @Test
    void activationServesTheSocketAndDeactivationRemovesIt() throws Exception {
        Path socket = tmp.resolve("run/socket");
        XenstoredComponent c = new XenstoredComponent(config(socket.toString(), "", 128));
        assertEquals("rw-rw----", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)));
        try (RawClient client = new RawClient(socket)) {
            assertEquals("tool|", client.req(MessageType.DIRECTORY, "/\0"));
        }
        c.deactivate();
        assertFalse(Files.exists(socket));
        assertTrue(Files.isDirectory(tmp.resolve("run")));
    }
}
