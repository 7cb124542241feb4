package org.netvm.xenstore.server.internal;

import java.nio.file.Path;
import java.util.Objects;

/**
 * How {@link EmbeddedXenstored} runs.
 *
 * @param domainSocketDir where {@code domain-<id>.sock} sockets for introduced domains go; {@code null}: none
 * @param socketMode octal mode for the sockets it creates (e.g. {@code "0666"}); {@code null} or empty: leave as created
 * @param quotas limits for unprivileged domains
 */
public record Options(Path domainSocketDir, String socketMode, Quotas quotas) {

    public Options {
        Objects.requireNonNull(quotas, "quotas");
        if (socketMode != null && !socketMode.isEmpty() && !socketMode.matches("0?[0-7]{3}")) {
            throw new IllegalArgumentException("socketMode must be octal like 0660: " + socketMode);
        }
    }

    /** No domain sockets, the socket mode left as created, C's default quotas. */
    public static Options defaults() {
        return new Options(null, null, Quotas.DEFAULTS);
    }

    public Options withDomainSocketDir(Path dir) {
        return new Options(dir, socketMode, quotas);
    }

    public Options withSocketMode(String mode) {
        return new Options(domainSocketDir, mode, quotas);
    }

    public Options withQuotas(Quotas q) {
        return new Options(domainSocketDir, socketMode, q);
    }
}
