package org.netvm.tests;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Network namespaces a test creates and removes; every command is an argument list (no shell).
 * Nothing here touches the machine's own namespace except creating and deleting the namespaces.
 */
final class Netns implements AutoCloseable {

    final String name;

    private Netns(String name) {
        this.name = name;
    }

    static boolean available() {
        try {
            return new ProcessBuilder("id", "-u").start().inputReader().readLine().equals("0")
                    && run(List.of("ip", "netns", "list")).status == 0;
        } catch (IOException e) {
            return false;
        }
    }

    static Netns create(String prefix) throws IOException {
        String name = prefix + "-" + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x10000, 0xfffff));
        check(List.of("ip", "netns", "add", name));
        Netns ns = new Netns(name);
        ns.ip("link", "set", "lo", "up");
        return ns;
    }

    /** A veth pair: {@code here} in this namespace, {@code there} in {@code other}. */
    void veth(String here, Netns other, String there) throws IOException {
        ip("link", "add", here, "type", "veth", "peer", "name", there, "netns", other.name);
    }

    /** {@code ip -n NS args...}; throws with its stderr when it fails. */
    String ip(String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("ip", "-n", name));
        cmd.addAll(List.of(args));
        return check(cmd);
    }

    /** Runs a command inside the namespace. */
    Result exec(String... args) {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", name));
        cmd.addAll(List.of(args));
        return run(cmd);
    }

    @Override
    public void close() {
        run(List.of("ip", "netns", "del", name));
    }

    record Result(int status, String out, String err) {
    }

    static String check(List<String> cmd) throws IOException {
        Result r = run(cmd);
        if (r.status != 0) {
            throw new IOException(String.join(" ", cmd) + " failed (" + r.status + "): " + r.err);
        }
        return r.out;
    }

    static Result run(List<String> cmd) {
        try {
            Process p = new ProcessBuilder(cmd).start();
            p.getOutputStream().close();
            var out = p.getInputStream().readAllBytes();
            var err = p.getErrorStream().readAllBytes();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new Result(-1, "", "timeout");
            }
            return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
        } catch (IOException e) {
            return new Result(-1, "", e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(-1, "", "interrupted");
        }
    }
}
