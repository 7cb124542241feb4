package org.netvm.xenstore.commands.internal;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

import org.netvm.control.ControlCommand;
import org.netvm.xenstore.Permission;
import org.netvm.xenstore.Watch;
import org.netvm.xenstore.XenStore;
import org.netvm.xenstore.XenStoreException;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * {@code netvm xs ...} and the Gogo commands {@code xs:read}, {@code xs:write}, {@code xs:ls},
 * {@code xs:rm}, {@code xs:chmod}, {@code xs:watch}: the xenstore-utils verbs against the agent's own
 * xenstore connection.
 */
@Component(service = ControlCommand.class, property = {
        ControlCommand.NAME + "=xs",
        "osgi.command.scope=xs",
        "osgi.command.function=read", "osgi.command.function=write", "osgi.command.function=ls",
        "osgi.command.function=rm", "osgi.command.function=chmod", "osgi.command.function=watch",
        "osgi.command.function=mkdir"})
public final class XsCommand implements ControlCommand {

    static final String USAGE = """
            usage: netvm xs read PATH...
                   netvm xs write PATH VALUE [PATH VALUE]...   (one transaction)
                   netvm xs ls [PATH]                          (recursive: path = "value")
                   netvm xs mkdir PATH
                   netvm xs rm PATH...
                   netvm xs chmod PATH PERM...                 (PERM like n0 r5 w3 b7; first = owner)
                   netvm xs watch PATH [COUNT]                 (prints changed paths; COUNT events then exit)
                   netvm xs introduce DOMID [MFN PORT]         (toolstack: the domain exists)
                   netvm xs release DOMID                      (toolstack: the domain is gone)""";

    private final XenStore xs;

    @Activate
    public XsCommand(@Reference XenStore xs) {
        this.xs = xs;
    }

    @Override
    public String summary() {
        return "read, write, list, remove, chmod and watch xenstore nodes";
    }

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) {
        if (args.isEmpty()) {
            err.println(USAGE);
            return 2;
        }
        List<String> rest = args.subList(1, args.size());
        try {
            switch (args.get(0)) {
                case "read" -> {
                    if (rest.isEmpty()) {
                        return usage(err);
                    }
                    for (String p : rest) {
                        out.println(xs.read(p));
                    }
                }
                case "write" -> {
                    if (rest.isEmpty() || rest.size() % 2 != 0) {
                        return usage(err);
                    }
                    xs.inTransaction(10, tx -> {
                        for (int i = 0; i < rest.size(); i += 2) {
                            tx.write(rest.get(i), rest.get(i + 1));
                        }
                        return null;
                    });
                }
                case "ls" -> {
                    if (rest.size() > 1) {
                        return usage(err);
                    }
                    ls(rest.isEmpty() ? "/" : rest.get(0), out);
                }
                case "mkdir" -> {
                    if (rest.size() != 1) {
                        return usage(err);
                    }
                    xs.mkdir(rest.get(0));
                }
                case "rm" -> {
                    if (rest.isEmpty()) {
                        return usage(err);
                    }
                    for (String p : rest) {
                        xs.rm(p);
                    }
                }
                case "chmod" -> {
                    if (rest.size() < 2) {
                        return usage(err);
                    }
                    List<Permission> perms = new ArrayList<>();
                    for (String p : rest.subList(1, rest.size())) {
                        perms.add(Permission.parse(p));
                    }
                    xs.setPermissions(rest.get(0), perms);
                }
                case "watch" -> {
                    if (rest.isEmpty() || rest.size() > 2) {
                        return usage(err);
                    }
                    int count = rest.size() == 2 ? Integer.parseInt(rest.get(1)) : Integer.MAX_VALUE;
                    return watch(rest.get(0), count, out);
                }
                case "introduce" -> {
                    if (rest.size() != 1 && rest.size() != 3) {
                        return usage(err);
                    }
                    xs.introduceDomain(domid(rest.get(0)), rest.size() == 3 ? Long.parseLong(rest.get(1)) : 1L,
                            rest.size() == 3 ? Integer.parseInt(rest.get(2)) : 1);
                }
                case "release" -> {
                    if (rest.size() != 1) {
                        return usage(err);
                    }
                    xs.releaseDomain(domid(rest.get(0)));
                }
                default -> {
                    return usage(err);
                }
            }
            return 0;
        } catch (XenStoreException e) {
            err.println("xs " + args.get(0) + ": " + e.getMessage());
            return 1;
        } catch (IllegalArgumentException e) {
            err.println("xs " + args.get(0) + ": " + e.getMessage());
            return 2;
        }
    }

    private static int domid(String text) {
        if (!text.matches("0|[1-9][0-9]{0,4}") || Integer.parseInt(text) >= 0x7FF0) {
            throw new IllegalArgumentException("not a domain id: " + text);
        }
        return Integer.parseInt(text);
    }

    private static int usage(PrintStream err) {
        err.println(USAGE);
        return 2;
    }

    private void ls(String path, PrintStream out) throws XenStoreException {
        for (String child : xs.directory(path)) {
            String p = path.endsWith("/") ? path + child : path + "/" + child;
            out.println(p + " = \"" + escape(xs.readIfExists(p).orElse("")) + "\"");
            ls(p, out);
        }
    }

    /** Escapes as xenstore-ls does, so hostile values cannot forge lines. */
    static String escape(String v) {
        StringBuilder sb = new StringBuilder();
        for (char c : v.toCharArray()) {
            if (c == '\\' || c == '"') {
                sb.append('\\').append(c);
            } else if (c < 0x20 || c == 0x7f) {
                sb.append(String.format("\\x%02x", (int) c));
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    private int watch(String path, int count, PrintStream out) throws XenStoreException {
        BlockingQueue<String> events = new ArrayBlockingQueue<>(1024);
        try (Watch w = xs.watch(path, p -> events.offer(p == null ? "(resync)" : p))) {
            for (int seen = 0; seen < count; ) {
                String e = events.poll(1, TimeUnit.SECONDS);
                if (e != null) {
                    out.println(e);
                    seen++;
                }
                if (out.checkError()) {
                    return 0; // the client went away
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 0;
    }

    // Gogo entry points: each returns the text a user would see, errors as exceptions.

    public String read(String path) throws XenStoreException {
        return xs.read(path);
    }

    public void write(String path, String value) throws XenStoreException {
        xs.write(path, value);
    }

    public String ls(String path) throws XenStoreException {
        var buf = new java.io.ByteArrayOutputStream();
        ls(path, new PrintStream(buf, true, java.nio.charset.StandardCharsets.UTF_8));
        return buf.toString(java.nio.charset.StandardCharsets.UTF_8);
    }

    @org.apache.felix.service.command.Descriptor("list the whole store")
    public String ls() throws XenStoreException {
        return ls("/");
    }

    @org.apache.felix.service.command.Descriptor("create a node with an empty value")
    public void mkdir(@org.apache.felix.service.command.Descriptor("path") String path) throws XenStoreException {
        xs.mkdir(path);
    }

    @org.apache.felix.service.command.Descriptor("remove a node and everything below it")
    public void rm(@org.apache.felix.service.command.Descriptor("path") String path) throws XenStoreException {
        xs.rm(path);
    }

    @org.apache.felix.service.command.Descriptor("set permissions: the first names the owner and everyone else's access (n0 r5 w3 b7)")
    public void chmod(@org.apache.felix.service.command.Descriptor("path") String path, @org.apache.felix.service.command.Descriptor("permissions like n0 r5") String... perms) throws XenStoreException {
        List<Permission> list = new ArrayList<>();
        for (String p : perms) {
            list.add(Permission.parse(p));
        }
        xs.setPermissions(path, list);
    }

    @org.apache.felix.service.command.Descriptor("print the paths that change at or below PATH, COUNT events then return")
    public void watch(@org.apache.felix.service.command.Descriptor("path") String path, @org.apache.felix.service.command.Descriptor("events to wait for") int count) throws XenStoreException {
        watch(path, count, System.out);
    }
}
