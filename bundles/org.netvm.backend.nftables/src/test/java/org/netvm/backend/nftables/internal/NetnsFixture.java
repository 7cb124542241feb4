package org.netvm.backend.nftables.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Throwaway network namespaces for real-kernel tests. Everything happens inside namespaces this class
 * created; {@link #close()} deletes them (and so their interfaces, routes and nftables tables).
 *
 * <pre>{@code
 * @BeforeAll static void setUp() {
 *     assumeTrue(NetnsFixture.usable("nft"), "needs root, ip and nft");
 *     ns = NetnsFixture.create("nft");          // netvmtest-nft-<random>
 *     peer = ns.peer("peer");                   // a second namespace, deleted with the first
 *     ns.veth("veth0", "10.99.0.1/24", peer, "veth1", "10.99.0.2/24");
 * }
 * @AfterAll static void tearDown() { if (ns != null) ns.close(); }
 * }</pre>
 *
 * Copy this class into your own test sources (no bundle exports test code).
 */
public final class NetnsFixture implements AutoCloseable {
    private static final SecureRandom RANDOM = new SecureRandom();

    private final String name;
    private final CommandRunner runner;
    private final List<NetnsFixture> peers = new ArrayList<>();

    private NetnsFixture(String name, CommandRunner runner) {
        this.name = name;
        this.runner = runner;
    }

    /** Whether we run as root and every tool in {@code tools} (plus {@code ip}) is on the PATH. */
    public static boolean usable(String... tools) {
        if (!"root".equals(System.getProperty("user.name"))) {
            return false;
        }
        List<String> all = new ArrayList<>(List.of(tools));
        all.add("ip");
        for (String tool : all) {
            boolean found = false;
            for (String dir : System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").split(":")) {
                found |= Files.isExecutable(Path.of(dir, tool));
            }
            if (!found) {
                return false;
            }
        }
        return true;
    }

    /** Creates {@code netvmtest-<tag>-<random>} with its loopback up. */
    public static NetnsFixture create(String tag) throws IOException {
        String name = "netvmtest-" + tag + "-" + Integer.toHexString(RANDOM.nextInt(1 << 24));
        NetnsFixture ns = new NetnsFixture(name, new ProcessCommandRunner(Duration.ofSeconds(30)));
        ns.host("ip", "netns", "add", name);
        ns.ok("ip", "link", "set", "lo", "up");
        return ns;
    }

    /** Another namespace, deleted when this one is closed. */
    public NetnsFixture peer(String tag) throws IOException {
        NetnsFixture p = create(tag);
        peers.add(p);
        return p;
    }

    public String name() {
        return name;
    }

    /**
     * A veth pair: {@code here} in this namespace with {@code hereAddress}, {@code there} in {@code other}
     * with {@code thereAddress} (both CIDR), both up.
     */
    public void veth(String here, String hereAddress, NetnsFixture other, String there, String thereAddress)
            throws IOException {
        ok("ip", "link", "add", here, "type", "veth", "peer", "name", there, "netns", other.name());
        ok("ip", "address", "add", hereAddress, "dev", here);
        ok("ip", "link", "set", here, "up");
        other.ok("ip", "address", "add", thereAddress, "dev", there);
        other.ok("ip", "link", "set", there, "up");
    }

    /** Runs {@code argv} inside this namespace ({@code ip netns exec NAME argv...}). */
    public CommandRunner.Result exec(String... argv) throws IOException {
        return exec(List.of(argv), "");
    }

    /** Runs {@code argv} inside this namespace with {@code stdin}. */
    public CommandRunner.Result exec(List<String> argv, String stdin) throws IOException {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", name));
        full.addAll(argv);
        return runner.run(full, stdin);
    }

    /** Like {@link #exec(String...)}, failing on a non-zero exit; returns stdout. */
    public String ok(String... argv) throws IOException {
        CommandRunner.Result r = exec(argv);
        if (!r.ok()) {
            throw new IOException(String.join(" ", argv) + " in " + name + " failed (" + r.exitCode() + "): "
                    + r.stderr());
        }
        return r.stdout();
    }

    /**
     * Whether a TCP SYN from this namespace to {@code address:port} gets an answer within {@code seconds}:
     * a connection, or a reset ("connection refused", i.e. the packet got through and the peer's kernel
     * answered). False when nothing came back (dropped). Uses bash's /dev/tcp, so no ping/nc is needed;
     * address and port are passed as positional parameters, not spliced into the script.
     */
    public boolean tcpAnswered(String address, int port, int seconds) throws IOException {
        CommandRunner.Result r = exec("timeout", Integer.toString(seconds), "bash", "-c",
                "exec 3<>\"/dev/tcp/$0/$1\"", address, Integer.toString(port));
        return r.ok() || r.stderr().contains("Connection refused");
    }

    private void host(String... argv) throws IOException {
        CommandRunner.Result r = runner.run(List.of(argv), "");
        if (!r.ok()) {
            throw new IOException(String.join(" ", argv) + " failed: " + r.stderr());
        }
    }

    /** Kills what still runs inside, deletes the namespace and its peers. */
    @Override
    public void close() throws IOException {
        IOException first = null;
        for (NetnsFixture p : peers) {
            try {
                p.close();
            } catch (IOException e) {
                first = first == null ? e : first;
            }
        }
        CommandRunner.Result pids = runner.run(List.of("ip", "netns", "pids", name), "");
        for (String pid : pids.stdout().split("\\s+")) {
            if (pid.matches("[0-9]+")) {
                ProcessHandle.of(Long.parseLong(pid)).ifPresent(ProcessHandle::destroyForcibly);
            }
        }
        CommandRunner.Result r = runner.run(List.of("ip", "netns", "delete", name), "");
        if (!r.ok() && first == null) {
            first = new IOException("ip netns delete " + name + ": " + r.stderr());
        }
        if (first != null) {
            throw first;
        }
    }
}
