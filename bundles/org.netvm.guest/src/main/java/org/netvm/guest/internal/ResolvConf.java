package org.netvm.guest.internal;

import java.io.IOException;
import java.nio.file.Path;

/** Writes resolv.conf; the seam between the guest reconciler and the filesystem. */
public interface ResolvConf {

    /**
     * Makes {@code path} hold {@code content}. Returns false when it already did (nothing written).
     */
    boolean write(Path path, String content) throws IOException;
}
