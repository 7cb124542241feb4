package org.netvm.backend.nftables.internal;

import java.io.IOException;

/**
 * A long-lived nft that takes one transaction per call, without a process start: the seam tests fake.
 * The real one is {@link InteractiveNft}.
 */
interface NftShell extends AutoCloseable {

    /**
     * Sends {@code commands} (one line: commands separated by {@code ;}) as one transaction.
     *
     * @return null if nft applied it, else nft's error text (nothing was applied)
     * @throws IOException if the outcome is unknown (nft died or did not answer in time); the caller
     *                     must then bring the kernel to a known state by other means
     */
    String transaction(String commands) throws IOException;

    /** Starts the process now, so that the first change does not pay for it. */
    void warmUp() throws IOException;

    @Override
    void close();
}
