package org.netvm.runtime.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;

/** The kept bundle cache's two duties in the runtime: the stamp, and extensions that are gone. */
class BundleCacheTest {

    @TempDir
    Path dir;

    final ByteArrayOutputStream log = new ByteArrayOutputStream();
    final PrintStream out = new PrintStream(log, true, StandardCharsets.UTF_8);
    final Map<String, String> props = new HashMap<>();
    final List<Bundle> bundles = new ArrayList<>();
    final List<String> uninstalled = new ArrayList<>();

    BundleContext context() {
        return (BundleContext) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {BundleContext.class},
                (p, m, a) -> switch (m.getName()) {
                    case "getProperty" -> props.get((String) a[0]);
                    case "getBundles" -> bundles.toArray(new Bundle[0]);
                    default -> throw new UnsupportedOperationException(m.getName());
                });
    }

    Bundle bundle(long id, String location) {
        Bundle b = (Bundle) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {Bundle.class},
                (p, m, a) -> switch (m.getName()) {
                    case "getBundleId" -> id;
                    case "getLocation" -> location;
                    case "getSymbolicName" -> "b" + id;
                    case "uninstall" -> {
                        uninstalled.add(location);
                        yield null;
                    }
                    default -> throw new UnsupportedOperationException(m.getName());
                });
        bundles.add(b);
        return b;
    }

    @Test
    void aNewCachesKeyBecomesTheStampOnceEveryBundleIsInstalled() throws IOException {
        Path stamp = dir.resolve("netvm-cache.key");
        Files.writeString(dir.resolve("netvm-cache.key.new"), "key 1\nsums");
        props.put("netvm.cache.stamp", stamp.toString());
        BundleCache.stamp(context(), out);
        assertEquals("key 1\nsums", Files.readString(stamp));
        assertFalse(Files.exists(dir.resolve("netvm-cache.key.new")));
        BundleCache.stamp(context(), out);
        assertEquals("key 1\nsums", Files.readString(stamp), "a kept cache: nothing to do");
        assertEquals("", log.toString(StandardCharsets.UTF_8));
    }

    @Test
    void noStampWithoutTheLauncher() throws IOException {
        Files.writeString(dir.resolve("netvm-cache.key.new"), "key");
        BundleCache.stamp(context(), out);
        assertFalse(Files.exists(dir.resolve("netvm-cache.key")), "a fresh storage (java -jar) is never stamped");
    }

    @Test
    void anUnwritableStampIsOnlyLogged() throws IOException {
        Files.createDirectories(dir.resolve("netvm-cache.key")); // a directory in the way
        Files.writeString(dir.resolve("netvm-cache.key/x"), "");
        Files.writeString(dir.resolve("netvm-cache.key.new"), "key");
        props.put("netvm.cache.stamp", dir.resolve("netvm-cache.key").toString());
        BundleCache.stamp(context(), out);
        assertTrue(log.toString(StandardCharsets.UTF_8).contains("the next start builds it again"), log.toString());
    }

    @Test
    void anExtensionGoneFromTheDeployDirectoryIsUninstalled() {
        Path kept = dir.resolve("kept.jar");
        Path gone = dir.resolve("gone.jar");
        bundle(0, "System Bundle");
        bundle(1, "jar/org.netvm.vif-0.2.0.jar");
        bundle(30, kept.toUri().toString());
        bundle(31, gone.toUri().toString());
        BundleCache.removeGone(context(), List.of(kept), out);
        assertEquals(List.of(gone.toUri().toString()), uninstalled, "only the deploy directory's bundle that is gone");
        assertTrue(log.toString(StandardCharsets.UTF_8).contains("is gone: uninstalled b31"), log.toString());
    }
}
