package org.netvm.xenstore.server.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.annotation.Annotation;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.netvm.xenstore.wire.MessageType;

class XenstoredComponentTest {

    @TempDir
    Path tmp;

    XenstoredComponent.Config config(String socket, String domainDir, int maxWatches) {
        return new XenstoredComponent.Config() {
            @Override
            public Class<? extends Annotation> annotationType() {
                return XenstoredComponent.Config.class;
            }

            @Override
            public String socketPath() {
                return socket;
            }

            @Override
            public String domainSocketDir() {
                return domainDir;
            }

            @Override
            public String socketMode() {
                return "0660";
            }

            @Override
            public int quotaMaxEntries() {
                return 1000;
            }

            @Override
            public int quotaMaxEntrySize() {
                return 2048;
            }

            @Override
            public int quotaMaxWatches() {
                return maxWatches;
            }

            @Override
            public int quotaMaxTransactions() {
                return 10;
            }

            @Override
            public int quotaMaxPermsPerNode() {
                return 5;
            }

            @Override
            public int quotaMaxTransactionNodes() {
                return 1024;
            }

            @Override
            public int quotaMaxPathLength() {
                return 2048;
            }

            @Override
            public int quotaMaxConnections() {
                return 3;
            }

            @Override
            public int quotaMaxOutstanding() {
                return 20;
            }

            @Override
            public long quotaMemory() {
                return 100_000;
            }

            @Override
            public long quotaMemorySoft() {
                return 50_000;
            }
        };
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
