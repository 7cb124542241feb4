package org.netvm.backend.nftables.internal;

import java.io.IOException;

/**
 * nft as a seam: one command buffer per call, applied as one transaction (all of it or nothing), with
 * nft's status, output and error text. The real ones are {@link LibNftables} (libnftables, the library
 * {@code nft} itself is built on, called in-process: no process start, no probe line) and
 * {@link ProcessNft} ({@code nft -f -} and {@code nft list} processes, when the library cannot be
 * loaded). Callers pass only text rendered from the validated model ({@link NftRenderer}).
 */
interface Nft extends AutoCloseable {

    /** What a call prints. */
    enum Output {
        /** nothing expected (a transaction) */
        NONE,
        /** as {@code nft list} prints it */
        TEXT,
        /** as {@code nft -j -n list} prints it: JSON, numbers instead of symbolic names */
        JSON
    }

    /** nft's answer: {@code ok} when the status was 0, then what it printed and its error text. */
    record Reply(boolean ok, String output, String error) {
    }

    /**
     * Runs {@code commands} (lines or {@code ;}-separated commands) as one transaction.
     *
     * @throws IOException if the outcome is unknown (nft could not be run or gave no answer in time)
     */
    Reply run(String commands, Output output) throws IOException;

    /** Which implementation this is, for the log: "libnftables ..." or "nft processes ...". */
    String describe();

    @Override
    void close();
}
