package org.netvm.xenstore.client.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.netvm.testing.netns.Command;
import org.netvm.xenstore.wire.Message;
import org.netvm.xenstore.wire.MessageType;

/**
 * No xenbus device here, so the mechanics are checked on a FIFO opened read-write: a reader blocked in
 * read(2) must not stop a writer on the same descriptor (one FileChannel would: it serialises read and
 * write), and closing must wake the blocked reader.
 */
class XenbusTransportTest {

    @TempDir
    Path dir;

    private static <T> CompletableFuture<T> supply(java.util.function.Supplier<T> s) {
        CompletableFuture<T> f = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                f.complete(s.get());
            } catch (Throwable e) {
                f.completeExceptionally(e);
            }
        });
        t.setDaemon(true);
        t.start();
        return f;
    }

    @Test
    void blockedReaderDoesNotBlockWritesAndCloseWakesIt() throws Exception {
        Path fifo = dir.resolve("xenbus");
        Command.Result mkfifo = Command.run("mkfifo", fifo.toString());
        Assumptions.assumeTrue(mkfifo.ok(), "no mkfifo: " + mkfifo.stderr());
        Connection c = new XenbusTransport(fifo).connect();
        CompletableFuture<Message> first = supply(() -> {
            try {
                return c.read();
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        Thread.sleep(100); // let the reader block
        Message m = new Message(MessageType.READ, 7, 0, Message.strings("/x"));
        supply(() -> {
            try {
                c.write(m);
                return null;
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        }).get(5, TimeUnit.SECONDS);
        assertEquals(m, first.get(5, TimeUnit.SECONDS));

        CompletableFuture<Message> blocked = supply(() -> {
            try {
                return c.read();
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        Thread.sleep(100);
        c.close();
        Exception e = assertThrows(Exception.class, () -> blocked.get(5, TimeUnit.SECONDS));
        assertTrue(e.getCause() instanceof RuntimeException, e.toString());
        assertTrue(Files.exists(fifo));
    }
}
