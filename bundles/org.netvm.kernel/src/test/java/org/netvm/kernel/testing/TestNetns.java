package org.netvm.kernel.testing;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * A throwaway network namespace {@code netvmtest-kern-<random>} for real-kernel tests, driven by
 * {@code ip} with argument lists. Tests skip unless running as root with {@code ip} installed.
 */
public final class TestNetns implements AutoCloseable {
    private static final String IP = findIp();
    public final String name;

    private TestNetns(String name) {
        this.name = name;
    }

    private static String findIp() {
        for (String p : List.of("/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip")) {
            if (Files.isExecutable(Path.of(p))) {
                return p;
            }
        }
        return null;
    }

    /** Skips the calling test unless we are root and have ip(8). */
    public static void assumeAvailable() {
        assumeTrue(IP != null, "ip(8) not installed");
        int uid;
        try {
            uid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        } catch (IOException | UnsupportedOperationException e) {
            uid = -1;
        }
        assumeTrue(uid == 0, "real-kernel tests need root");
    }

    /** A new namespace holding the veth pair {@code vif3.0} / {@code eth0}, both down. */
    public static TestNetns create() {
        assumeAvailable();
        return createUnchecked();
    }

    /** As {@link #create()}, for mains without JUnit: fails instead of skipping. */
    public static TestNetns createUnchecked() {
        String name = "netvmtest-kern-" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
        ip("netns", "add", name);
        TestNetns ns = new TestNetns(name);
        try {
            ns.ipIn("link", "add", "vif3.0", "type", "veth", "peer", "name", "eth0");
        } catch (RuntimeException e) {
            ns.close();
            throw e;
        }
        return ns;
    }

    /** {@code ip -n <ns> args...}; returns stdout, throws on a non-zero exit. */
    public String ipIn(String... args) {
        List<String> a = new ArrayList<>(List.of("-n", name));
        a.addAll(List.of(args));
        return ip(a.toArray(String[]::new));
    }

    /** {@code ip -n <ns> -j args...} parsed. */
    public List<Map<String, Object>> json(String... args) {
        List<String> a = new ArrayList<>(List.of("-n", name, "-j"));
        a.addAll(List.of(args));
        return Json.array(ip(a.toArray(String[]::new)).trim());
    }

    /** {@code ip netns exec <ns> command...}. */
    public String exec(String... command) {
        List<String> a = new ArrayList<>(List.of("netns", "exec", name));
        a.addAll(List.of(command));
        return ip(a.toArray(String[]::new));
    }

    public static String ip(String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(IP);
        cmd.addAll(List.of(args));
        return run(cmd);
    }

    public static String run(List<String> cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("timeout: " + cmd);
            }
            if (p.exitValue() != 0) {
                throw new IllegalStateException(cmd + " exited " + p.exitValue() + ": " + out);
            }
            return out;
        } catch (IOException e) {
            throw new IllegalStateException(cmd.toString(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(cmd.toString(), e);
        }
    }

    @Override
    public void close() {
        try {
            ip("netns", "del", name);
        } catch (RuntimeException e) {
            System.err.println("could not delete netns " + name + ": " + e.getMessage());
        }
    }
}
