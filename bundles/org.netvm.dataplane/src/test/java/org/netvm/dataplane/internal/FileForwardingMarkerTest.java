package org.netvm.dataplane.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileForwardingMarkerTest {
    @TempDir
    Path tmp;

    private FileForwardingMarker marker(String ns, String bootId) throws Exception {
        Path link = tmp.resolve("ns-" + ns.hashCode());
        Files.deleteIfExists(link);
        Files.createSymbolicLink(link, Path.of(ns));
        Path boot = tmp.resolve("boot_id");
        Files.writeString(boot, bootId + "\n");
        return new FileForwardingMarker(tmp.resolve("run"), link, boot);
    }

    @Test
    void setInOneBootAndNamespaceIsPresentThereOnly() throws Exception {
        String boot = "0d6e1b4a-6a53-4c55-9d3c-1f1b0e7a2b11";
        FileForwardingMarker a = marker("net:[4026532001]", boot);
        assertFalse(a.present());
        a.set();
        assertTrue(a.present());
        assertEquals("forwarding.4026532001", a.file().getFileName().toString());
        assertFalse(marker("net:[4026532002]", boot).present(), "another namespace");
        assertFalse(marker("net:[4026532001]", "9f0e1b4a-6a53-4c55-9d3c-1f1b0e7a2b11").present(),
                "the same inode in a later boot");
        a = marker("net:[4026532001]", boot);
        a.clear();
        assertFalse(a.present());
        a.clear(); // twice is fine
    }

    @Test
    void garbageInTheFileIsNoMarker() throws Exception {
        String boot = "0d6e1b4a-6a53-4c55-9d3c-1f1b0e7a2b11";
        FileForwardingMarker a = marker("net:[7]", boot);
        Files.createDirectories(tmp.resolve("run"));
        Files.writeString(a.file(), "x" + boot);
        assertFalse(a.present());
    }

    @Test
    void theRealProcFilesAreUnderstood() throws Exception {
        FileForwardingMarker real = new FileForwardingMarker(tmp.resolve("real"));
        assertFalse(real.present());
        real.set();
        assertTrue(real.present());
        assertTrue(real.file().getFileName().toString().matches("forwarding\\.\\d+"));
        real.clear();
        assertFalse(real.present());
    }
}
