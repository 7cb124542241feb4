package org.netvm.vif.internal;

import java.io.IOException;

/**
 * The file side of the hotplug script's fast channel ({@link HotplugChannel}): one directory with a
 * request FIFO the agent reads, reply FIFOs {@code slot.K}, the scripts' claims {@code claim.K} and
 * the {@code agent} file that tells a script the channel is there. Real: {@link FifoDirectory}.
 */
interface HotplugFiles {

    /**
     * Makes the directory afresh (leftovers of an earlier run removed): the request FIFO, {@code slots}
     * reply FIFOs, then the {@code agent} file holding {@code agentLine}, last (a script uses the
     * channel only once it is there).
     */
    void open(int slots, String agentLine) throws IOException;

    /** The next request line (without its newline), blocking; null once {@link #close} was called. */
    String readRequest() throws IOException;

    /** Writes one answer line into reply FIFO {@code slot}; lost if nobody has it open (the caller left). */
    void reply(int slot, String line) throws IOException;

    /**
     * Whether reply FIFO {@code slot} still holds bytes nobody has read: its script has not taken the
     * whole answer yet (false once it has, or once it is gone: a FIFO's bytes go with its last holder).
     */
    boolean unread(int slot) throws IOException;

    /** Frees reply slot {@code slot}: removes the script's claim. */
    void release(int slot) throws IOException;

    /** Frees the slots whose claim is older than {@code olderThanMillis}, except those in {@code busy}. */
    void releaseStale(long olderThanMillis, java.util.Set<Integer> busy) throws IOException;

    /** Removes the {@code agent} file: scripts from now on use the control socket. */
    void withdraw() throws IOException;

    /** Wakes a blocked {@link #readRequest} (it returns null) and removes the directory. */
    void close();
}
