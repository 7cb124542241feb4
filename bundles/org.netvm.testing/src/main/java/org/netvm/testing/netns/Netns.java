package org.netvm.testing.netns;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A throwaway network namespace {@code netvmtest-<tag>-<random>} for real-kernel tests; the only place
 * tests create namespaces. Everything a test programs happens inside namespaces it made; the machine's
 * own namespace is only read. Every command is an argument list (no shell).
 *
 * <pre>{@code
 * @BeforeAll static void setUp() {
 *     Netns.assumeUsable("nft");                  // skips unless root with ip and nft
 *     ns = Netns.create("nft");                   // netvmtest-nft-<random>, lo up
 *     peer = ns.peer("peer");                     // closed with ns
 *     ns.veth("vif3.0", "10.137.0.1/24", peer, "eth0", "10.137.0.5/24");   // both ends up
 * }
 * @AfterAll static void tearDown() { if (ns != null) ns.close(); }
 * }</pre>
 *
 * {@link #close()} kills what still runs inside and deletes the namespace (and so its links, routes and
 * rules) and its peers; a JVM shutdown hook deletes any a test forgot. Commands that fail throw
 * {@link IllegalStateException} with their stderr, except {@link #exec}, which returns the result.
 */
public final class Netns implements AutoCloseable {
    /** Every namespace name this class creates starts with this. */
    public static final String PREFIX = "netvmtest-";

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Set<String> OPEN = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> OPEN.forEach(Netns::delete), "netns-cleanup"));
    }

    private final String name;
    private final List<Netns> peers = new ArrayList<>();

    private Netns(String name) {
        this.name = name;
    }

    /** Whether we run as root and have {@code ip} plus every tool named. */
    public static boolean usable(String... tools) {
        if (!isRoot() || Command.which("ip").isEmpty()) {
            return false;
        }
        for (String tool : tools) {
            if (Command.which(tool).isEmpty()) {
                return false;
            }
        }
        return true;
    }

    /** Skips the calling test (a JUnit assumption) unless {@link #usable usable(tools)}. */
    public static void assumeUsable(String... tools) {
        assumeTrue(isRoot(), "real-kernel tests need root");
        assumeTrue(usable(tools), () -> "needs ip " + String.join(" ", tools));
    }

    /** Whether the effective user is root. */
    public static boolean isRoot() {
        try {
            return Files.readAllLines(Path.of("/proc/self/status")).stream()
                    .filter(l -> l.startsWith("Uid:")).anyMatch(l -> l.split("\\s+")[2].equals("0"));
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Creates {@code netvmtest-<tag>-<random>} with its loopback up. Throws when that fails (it does
     * not skip: call {@link #assumeUsable} first in a test).
     */
    public static Netns create(String tag) {
        if (!tag.matches("[a-z0-9][a-z0-9-]{0,20}")) {
            throw new IllegalArgumentException("tag: lower-case letters, digits and '-', at most 21: " + tag);
        }
        String name = PREFIX + tag + "-" + Integer.toHexString(0x100000 + RANDOM.nextInt(0xf00000));
        Command.check("ip", "netns", "add", name);
        OPEN.add(name);
        Netns ns = new Netns(name);
        try {
            ns.ip("link", "set", "lo", "up");
        } catch (RuntimeException e) {
            ns.close();
            throw e;
        }
        return ns;
    }

    /** Another namespace, deleted when this one is closed. */
    public Netns peer(String tag) {
        Netns p = create(tag);
        peers.add(p);
        return p;
    }

    public String name() {
        return name;
    }

    @Override
    public String toString() {
        return name;
    }

    /** A veth pair, both ends in this namespace, both down and without addresses (a vif and its guest end). */
    public void veth(String here, String peerName) {
        ip("link", "add", here, "type", "veth", "peer", "name", peerName);
    }

    /** A veth pair: {@code here} in this namespace, {@code there} in {@code other}; both down, no addresses. */
    public void veth(String here, Netns other, String there) {
        ip("link", "add", here, "type", "veth", "peer", "name", there, "netns", other.name);
    }

    /**
     * A veth pair: {@code here} in this namespace with {@code hereAddress}, {@code there} in {@code other}
     * with {@code thereAddress} (both CIDR), both up.
     */
    public void veth(String here, String hereAddress, Netns other, String there, String thereAddress) {
        veth(here, other, there);
        address(here, hereAddress);
        up(here);
        other.address(there, thereAddress);
        other.up(there);
    }

    /** Sets links up. */
    public void up(String... devices) {
        for (String d : devices) {
            ip("link", "set", d, "up");
        }
    }

    /** Adds {@code cidr} to {@code device}; IPv6 addresses skip duplicate address detection. */
    public void address(String device, String cidr) {
        if (cidr.contains(":")) {
            ip("address", "add", cidr, "dev", device, "nodad");
        } else {
            ip("address", "add", cidr, "dev", device);
        }
    }

    /** Adds a route: {@code route("default", "via", "10.137.0.1")}. */
    public void route(String... spec) {
        List<String> a = new ArrayList<>(List.of("route", "add"));
        a.addAll(List.of(spec));
        ip(a.toArray(String[]::new));
    }

    /** {@code ip -n NAME args...}: its stdout; throws when it fails. */
    public String ip(String... args) {
        List<String> a = new ArrayList<>(List.of("ip", "-n", name));
        a.addAll(List.of(args));
        return Command.check(a);
    }

    /** {@code ip -n NAME -j args...} parsed: objects are maps, numbers Longs/Doubles; empty output is empty. */
    public List<Map<String, Object>> ipJson(String... args) {
        List<String> a = new ArrayList<>(List.of("-j"));
        a.addAll(List.of(args));
        return Json.array(ip(a.toArray(String[]::new)).trim());
    }

    /** The {@code ip netns exec NAME} prefix, for code under test that runs its own processes. */
    public List<String> execPrefix() {
        return List.of("ip", "netns", "exec", name);
    }

    /** Runs {@code argv} inside this namespace; a failure is returned, not thrown. */
    public Command.Result exec(String... argv) {
        return exec(List.of(argv), "");
    }

    /** Runs {@code argv} inside this namespace with {@code stdin}. */
    public Command.Result exec(List<String> argv, String stdin) {
        List<String> full = new ArrayList<>(execPrefix());
        full.addAll(argv);
        return Command.run(full, stdin, Command.TIMEOUT);
    }

    /** Runs {@code argv} inside this namespace: its stdout; throws when it fails. */
    public String ok(String... argv) {
        Command.Result r = exec(argv);
        if (!r.ok()) {
            throw new IllegalStateException(String.join(" ", argv) + " in " + name + " failed (" + r.exitCode()
                    + "): " + r.stderr().strip());
        }
        return r.stdout();
    }

    /**
     * Whether a TCP SYN from this namespace to {@code address:port} gets an answer within {@code seconds}:
     * a connection or a reset ("connection refused": the packet got through and the peer's kernel
     * answered). False when nothing came back (dropped). Uses bash's /dev/tcp; address and port are
     * positional parameters, not spliced into the script.
     */
    public boolean tcpAnswered(String address, int port, int seconds) {
        return tcpAnswered(address, port, Integer.toString(seconds));
    }

    /** {@link #tcpAnswered(String, int, int)} with a timeout in fractions of a second (0.3). */
    public boolean tcpAnswered(String address, int port, double seconds) {
        return tcpAnswered(address, port, Double.toString(seconds));
    }

    private boolean tcpAnswered(String address, int port, String timeout) {
        Command.Result r = exec("timeout", timeout, "bash", "-c",
                "exec 3<>\"/dev/tcp/$0/$1\"", address, Integer.toString(port));
        return r.ok() || r.stderr().contains("Connection refused");
    }

    /** Deletes the peers, kills what still runs inside, deletes the namespace. Never throws. */
    @Override
    public void close() {
        peers.forEach(Netns::close);
        peers.clear();
        delete(name);
        OPEN.remove(name);
    }

    private static void delete(String name) {
        for (String pid : Command.run("ip", "netns", "pids", name).stdout().split("\\s+")) {
            if (pid.matches("[0-9]+")) {
                ProcessHandle.of(Long.parseLong(pid)).ifPresent(ProcessHandle::destroyForcibly);
            }
        }
        Command.Result r = Command.run("ip", "netns", "delete", name);
        if (!r.ok()) {
            System.err.println("could not delete netns " + name + ": " + r.stderr().strip());
        }
    }
}
