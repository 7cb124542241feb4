package org.netvm.status.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;

/**
 * What the metrics say about the process itself: the build's version (the installed VERSION file, which
 * the launcher passes as {@code netvm.version}, else this bundle's version), the resident memory
 * ({@code VmRSS} of {@code /proc/self/status}, -1 when unreadable) and the start time.
 */
record ProcessFacts(String version, long residentBytes, Instant start) {

    static ProcessFacts current() {
        return new ProcessFacts(buildVersion(), resident(Path.of("/proc/self/status")),
                ProcessHandle.current().info().startInstant().orElse(Instant.EPOCH));
    }

    static String buildVersion() {
        String v = System.getProperty("netvm.version");
        if (v != null && !v.isBlank()) {
            return v;
        }
        var bundle = org.osgi.framework.FrameworkUtil.getBundle(ProcessFacts.class);
        return bundle == null ? "unknown" : bundle.getVersion().toString();
    }

    /** {@code VmRSS:  12345 kB} in bytes, or -1. */
    static long resident(Path status) {
        try {
            for (String line : Files.readAllLines(status)) {
                if (line.startsWith("VmRSS:")) {
                    String[] f = line.substring(6).trim().split("\\s+");
                    return Long.parseLong(f[0]) * (f.length > 1 && f[1].equals("kB") ? 1024 : 1);
                }
            }
        } catch (IOException | RuntimeException e) {
            // unreadable: not reported
        }
        return -1;
    }
}
