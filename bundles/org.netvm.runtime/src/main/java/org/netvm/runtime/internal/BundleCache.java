package org.netvm.runtime.internal;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Collection;
import java.util.HashSet;
import java.util.Set;

import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;

/**
 * The framework's bundle cache, kept between launches by {@code bin/netvm} (its {@code felix_cache}):
 * the launcher removes a cache whose key differs from the one it computed for this launch (the jar,
 * the deploy directory's jars, Java, the netvm version); a cache it makes gets that key as
 * {@code STAMP.new} (the stamp is {@code netvm.cache.stamp}). Once every bundle is installed (the
 * launcher's before this bundle starts, the deploy directory's by {@link Boot}), it is renamed to the
 * stamp: a launch killed before that leaves no stamp, and the next launch starts from an empty cache.
 */
final class BundleCache {

    private BundleCache() {
    }

    /**
     * Uninstalls the bundles a kept cache still holds from the deploy directory that are no longer in
     * it (the launcher's key changes when the directory does, so this is only a second line: an
     * extension removed from bundles.d never runs again).
     */
    static void removeGone(BundleContext context, Collection<Path> jars, PrintStream out) {
        Set<String> wanted = new HashSet<>();
        jars.forEach(j -> wanted.add(j.toUri().toString()));
        for (Bundle b : context.getBundles()) {
            String location = b.getLocation();
            if (b.getBundleId() == 0 || !location.startsWith("file:") || wanted.contains(location)) {
                continue;
            }
            try {
                b.uninstall();
                out.println("netvm: deploy directory: " + location + " is gone: uninstalled " + b.getSymbolicName());
            } catch (BundleException | IllegalStateException e) {
                out.println("netvm: deploy directory: " + location + " is gone but not uninstalled: " + e.getMessage());
            }
        }
    }

    /**
     * Marks a new cache complete: renames the key the launcher wrote for it ({@code STAMP.new}) to the
     * stamp. Nothing to do on a launch from a kept cache (no {@code .new}); a failure only costs the
     * next launch the time to build the cache again.
     */
    static void stamp(BundleContext context, PrintStream out) {
        String stamp = context.getProperty("netvm.cache.stamp");
        if (stamp == null || stamp.isBlank()) {
            return;
        }
        Path file = Path.of(stamp);
        Path fresh = file.resolveSibling(file.getFileName() + ".new");
        if (!Files.exists(fresh)) {
            return;
        }
        try {
            Files.move(fresh, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | RuntimeException e) {
            out.println("netvm: bundle cache: cannot write " + file + " (" + e.getMessage() + "); the next start builds it again");
        }
    }
}
