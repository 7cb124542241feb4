package org.netvm.backend.nftables.internal;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.netvm.testing.netns.Netns;

/**
 * Every test of {@link NftablesKernelTest} once more with the backend calling libnftables in-process
 * ({@link LibNftables}) instead of starting nft processes: the same packets, read-back, refusals and user
 * rules. Skipped unless root with ip and nft.
 */
class NftablesLibraryKernelTest extends NftablesKernelTest {

    @BeforeAll
    static void useTheLibrary() throws IOException {
        assumeTrue(Netns.usable("nft", "bash", "timeout"), "needs root, ip, nft, bash, timeout");
        library = true;
        backend.close();
        backend = newBackend();
    }

    @AfterAll
    static void backToProcesses() {
        library = false;
        if (backend != null) {
            backend.close();
        }
    }
}
