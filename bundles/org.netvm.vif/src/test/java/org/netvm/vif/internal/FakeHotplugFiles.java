package org.netvm.vif.internal;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;

/** {@link HotplugFiles} in memory: requests are queued by the test, answers and releases recorded. */
final class FakeHotplugFiles implements HotplugFiles {
    private static final String CLOSED = new String("closed");

    final BlockingQueue<String> requests = new LinkedBlockingQueue<>();
    /** Answer lines by slot, in order. */
    final Map<Integer, List<String>> replies = new ConcurrentHashMap<>();
    final List<Integer> released = new CopyOnWriteArrayList<>();
    /** Slots whose answer the (pretend) script has not read yet. */
    final Set<Integer> unreadSlots = ConcurrentHashMap.newKeySet();
    final List<String> calls = new CopyOnWriteArrayList<>();
    volatile String agentLine;
    volatile int slots;
    volatile Set<Integer> staleBusy;

    @Override
    public void open(int slots, String agentLine) {
        this.slots = slots;
        this.agentLine = agentLine;
        calls.add("open");
    }

    @Override
    public String readRequest() throws IOException {
        try {
            String l = requests.take();
            return l == CLOSED ? null : l;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        }
    }

    @Override
    public void reply(int slot, String line) {
        replies.computeIfAbsent(slot, k -> new CopyOnWriteArrayList<>()).add(line);
    }

    @Override
    public boolean unread(int slot) {
        return unreadSlots.contains(slot);
    }

    @Override
    public void release(int slot) {
        released.add(slot);
    }

    @Override
    public void releaseStale(long olderThanMillis, Set<Integer> busy) {
        staleBusy = busy;
        calls.add("releaseStale " + olderThanMillis);
    }

    @Override
    public void withdraw() {
        calls.add("withdraw");
    }

    @Override
    public void close() {
        calls.add("close");
        requests.add(CLOSED);
    }

    /** The answers in {@code slot} (waits up to 10 s for the first). */
    List<String> awaitReply(int slot) {
        Rig.awaitTrue("an answer in slot " + slot, () -> replies.containsKey(slot));
        return replies.get(slot);
    }
}
