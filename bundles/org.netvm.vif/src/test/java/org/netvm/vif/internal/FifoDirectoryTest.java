package org.netvm.vif.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The fast channel's files for real: FIFOs in a temporary directory, opened as the script opens them. */
class FifoDirectoryTest {
    @TempDir
    Path tmp;

    private static boolean fifo(Path p) throws IOException {
        return ((Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 0170000) == 0010000;
    }

    private static void write(Path fifo, String text) throws IOException {
        try (FileChannel c = FileChannel.open(fifo, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            c.write(ByteBuffer.wrap(text.getBytes(StandardCharsets.ISO_8859_1)));
        }
    }

    @Test
    void opensAFreshDirectoryAndPublishesTheAgentLast() throws IOException {
        Path dir = FifoDirectory.nextTo(tmp.resolve("run/control.sock").toString());
        assertEquals(tmp.resolve("run/control.hotplug"), dir);
        assertEquals(Path.of("/x/c.hotplug"), FifoDirectory.nextTo("/x/c"));
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("claim.3"), ""); // a leftover of an earlier run
        Files.writeString(dir.resolve("agent"), "1 1 1\n");
        Files.writeString(dir.resolve("notes"), "not ours");
        FifoDirectory f = new FifoDirectory(dir);
        f.open(4, "10 20 30");
        try {
            assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
            assertTrue(fifo(dir.resolve("requests")));
            for (int k = 0; k < 4; k++) {
                assertTrue(fifo(dir.resolve("slot." + k)));
            }
            assertFalse(Files.exists(dir.resolve("slot.4")));
            assertFalse(Files.exists(dir.resolve("claim.3")), "leftover claims removed");
            assertEquals("10 20 30\n", Files.readString(dir.resolve("agent")));
            assertTrue(Files.exists(dir.resolve("notes")), "what is not the channel's stays");
        } finally {
            f.close();
        }
        assertTrue(Files.exists(dir.resolve("notes")));
        assertFalse(Files.exists(dir.resolve("requests")));
    }

    @Test
    void refusesAPathThatIsNotADirectory() throws IOException {
        Path target = Files.createDirectory(tmp.resolve("elsewhere"));
        Path link = Files.createSymbolicLink(tmp.resolve("control.hotplug"), target);
        assertThrows(IOException.class, () -> new FifoDirectory(link).open(2, "1 1 1"));
        Path file = Files.writeString(tmp.resolve("x.hotplug"), "");
        assertThrows(IOException.class, () -> new FifoDirectory(file).open(2, "1 1 1"));
    }

    @Test
    void readsLinesDropsOverlongOnesAndWakesOnClose() throws Exception {
        Path dir = tmp.resolve("c.hotplug");
        FifoDirectory f = new FifoDirectory(dir);
        f.open(2, "1 1 1");
        write(dir.resolve("requests"), "1.1 0 online vif1.0 backend/vif/1/0\n" + "y".repeat(600) + "\n2.2 1 off\u00e9\n");
        assertEquals("1.1 0 online vif1.0 backend/vif/1/0", f.readRequest());
        assertEquals("2.2 1 off?", f.readRequest(), "the overlong line is dropped whole, bytes outside ASCII are '?'");
        CompletableFuture<String> blocked = CompletableFuture.supplyAsync(() -> {
            try {
                return f.readRequest();
            } catch (IOException e) {
                return "error " + e;
            }
        });
        Thread.sleep(100);
        assertFalse(blocked.isDone());
        f.close();
        assertNull(blocked.get(5, TimeUnit.SECONDS));
        assertFalse(Files.exists(dir));
    }

    @Test
    void answersReachAWaitingReaderAndVanishWithoutOne() throws IOException {
        Path dir = tmp.resolve("c.hotplug");
        FifoDirectory f = new FifoDirectory(dir);
        f.open(2, "1 1 1");
        try {
            f.reply(1, "0.1 0"); // nobody holds slot 1: never blocks, and is gone
            assertFalse(f.unread(1), "an answer nobody held is gone");
            try (FileChannel script = FileChannel.open(dir.resolve("slot.1"), StandardOpenOption.READ,
                    StandardOpenOption.WRITE)) {
                f.reply(1, "1.1 1 netvm vif online: failed");
                assertTrue(f.unread(1), "the script has not read its answer yet");
                ByteBuffer b = ByteBuffer.allocate(100);
                script.read(b);
                assertEquals("1.1 1 netvm vif online: failed\n", new String(b.array(), 0, b.position(), StandardCharsets.US_ASCII));
                assertFalse(f.unread(1), "read whole");
            }
            Files.writeString(dir.resolve("claim.1"), "");
            f.release(1);
            assertFalse(Files.exists(dir.resolve("claim.1")));
            f.release(1); // twice: no error

            Files.writeString(dir.resolve("claim.0"), "");
            Files.writeString(dir.resolve("claim.1"), "");
            Files.setLastModifiedTime(dir.resolve("claim.0"), FileTime.fromMillis(System.currentTimeMillis() - 200_000));
            Files.setLastModifiedTime(dir.resolve("claim.1"), FileTime.fromMillis(System.currentTimeMillis() - 200_000));
            Files.writeString(dir.resolve("claim.2"), "");
            f.releaseStale(100_000, Set.of(1));
            assertFalse(Files.exists(dir.resolve("claim.0")), "old and not busy: freed");
            assertTrue(Files.exists(dir.resolve("claim.1")), "busy: kept");
            assertTrue(Files.exists(dir.resolve("claim.2")), "recent: kept");

            f.withdraw();
            assertFalse(Files.exists(dir.resolve("agent")));
        } finally {
            f.close();
        }
    }

    @Test
    void theProcessIdentityIsPidAndStartTime() throws IOException {
        String[] id = FifoDirectory.selfIdentity().split(" ");
        assertEquals(String.valueOf(ProcessHandle.current().pid()), id[0]);
        assertTrue(id[1].matches("[0-9]+"), id[1]);
    }
}
