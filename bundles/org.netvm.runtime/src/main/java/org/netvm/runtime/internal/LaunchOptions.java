package org.netvm.runtime.internal;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * The launcher's options as the runtime sees them (framework or system properties set by
 * {@code bin/netvm run}), checked strictly, and the Config Admin configurations they imply.
 *
 * <ul>
 * <li>{@code netvm.role}: {@code netvm} (default), {@code guest}, or {@code proxy} (also written
 * {@code netvm,guest} or {@code guest,netvm}): a VM that is both, a guest of its upstream netvm (its uplink
 * configured from its own keys, as in the guest role) and the netvm of its own guests (Qubes'
 * sys-firewall). The proxy runs the netvm role's runtime with the guest component switched on</li>
 * <li>{@code netvm.xenstore}: {@code auto} (default), {@code embedded[:SOCKET]}, {@code unix:SOCKET},
 * {@code xenbus}. {@code auto} uses {@code $XENSTORED_PATH} or {@code /var/run/xenstored/socket} when
 * that socket exists, else {@code /dev/xen/xenbus} when present, else the embedded daemon</li>
 * <li>{@code netvm.domid}: this VM's domain id when connected through the privileged socket</li>
 * <li>{@code netvm.control}: control socket path (default {@code /run/netvm/control.sock})</li>
 * <li>{@code netvm.netns}: program this named network namespace instead of the process's own (the
 * kernel seam and both packet-filter backends are bound to it); for tests and for running the agent
 * beside, not inside, the namespace it manages</li>
 * </ul>
 */
public record LaunchOptions(String role, String transport, String xenstorePath, boolean embedded, int domid,
        String controlSocket, String netns) {

    public static final String DEFAULT_EMBEDDED_SOCKET = "/run/netvm/xenstored/socket";
    public static final String DEFAULT_XENSTORED_SOCKET = "/var/run/xenstored/socket";
    public static final String XENBUS_DEVICE = "/dev/xen/xenbus";
    public static final String DEFAULT_CONTROL = "/run/netvm/control.sock";

    /** The roles, and the other spellings of {@code proxy}. */
    private static final Pattern ROLE = Pattern.compile("netvm|guest|proxy|netvm,guest|guest,netvm");
    private static final Pattern NETNS = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}");
    private static final Pattern DOMID = Pattern.compile("0|[1-9][0-9]{0,4}");

    /**
     * Reads the options.
     *
     * @param property framework property lookup
     * @param env environment lookup (for {@code XENSTORED_PATH})
     * @param exists file existence check (a seam for tests)
     * @throws IllegalArgumentException naming the bad option
     */
    public static LaunchOptions from(Function<String, String> property, Function<String, String> env,
            Predicate<Path> exists) {
        String role = or(property.apply("netvm.role"), "netvm");
        if (!ROLE.matcher(role).matches()) {
            throw new IllegalArgumentException("netvm.role must be netvm, guest or proxy (netvm,guest), not '" + role + "'");
        }
        if (role.contains(",")) {
            role = "proxy";
        }
        String domidText = or(property.apply("netvm.domid"), "0");
        if (!DOMID.matcher(domidText).matches() || Integer.parseInt(domidText) > 32752) {
            throw new IllegalArgumentException("netvm.domid must be a domain id 0..32752, not '" + domidText + "'");
        }
        String netns = or(property.apply("netvm.netns"), "");
        if (!netns.isEmpty() && !NETNS.matcher(netns).matches()) {
            throw new IllegalArgumentException("netvm.netns must be a namespace name, not '" + netns + "'");
        }
        String control = path("netvm.control", or(property.apply("netvm.control"), DEFAULT_CONTROL));
        String xs = or(property.apply("netvm.xenstore"), "auto");
        String transport;
        String xsPath;
        boolean embedded = false;
        if (xs.equals("auto")) {
            String fromEnv = env.apply("XENSTORED_PATH");
            if (fromEnv != null && !fromEnv.isEmpty() && exists.test(Path.of(fromEnv))) {
                transport = "unix";
                xsPath = path("XENSTORED_PATH", fromEnv);
            } else if (exists.test(Path.of(DEFAULT_XENSTORED_SOCKET))) {
                transport = "unix";
                xsPath = DEFAULT_XENSTORED_SOCKET;
            } else if (exists.test(Path.of(XENBUS_DEVICE))) {
                transport = "xenbus";
                xsPath = XENBUS_DEVICE;
            } else {
                transport = "unix";
                xsPath = DEFAULT_EMBEDDED_SOCKET;
                embedded = true;
            }
        } else if (xs.equals("embedded") || xs.startsWith("embedded:")) {
            transport = "unix";
            xsPath = xs.equals("embedded") ? DEFAULT_EMBEDDED_SOCKET : path("netvm.xenstore", xs.substring(9));
            embedded = true;
        } else if (xs.startsWith("unix:")) {
            transport = "unix";
            xsPath = path("netvm.xenstore", xs.substring(5));
        } else if (xs.equals("xenbus")) {
            transport = "xenbus";
            xsPath = XENBUS_DEVICE;
        } else {
            throw new IllegalArgumentException(
                    "netvm.xenstore must be auto, embedded[:PATH], unix:PATH or xenbus, not '" + xs + "'");
        }
        return new LaunchOptions(role, transport, xsPath, embedded, Integer.parseInt(domidText), control, netns);
    }

    private static String or(String v, String dflt) {
        return v == null || v.isBlank() ? dflt : v.trim();
    }

    private static String path(String option, String p) {
        if (p.isEmpty() || !p.startsWith("/") || p.indexOf('\0') >= 0 || p.length() > 107) {
            throw new IllegalArgumentException(option + " must be an absolute socket path (at most 107 bytes), not '"
                    + p + "'");
        }
        return p;
    }

    /**
     * The configuration properties to set, by PID, in a stable order. They are merged into what
     * the PID already holds (e.g. from Configurator defaults).
     */
    public Map<String, Dictionary<String, Object>> configurations() {
        Map<String, Dictionary<String, Object>> out = new LinkedHashMap<>();
        if (embedded) {
            Hashtable<String, Object> server = new Hashtable<>();
            server.put("socketPath", xenstorePath);
            server.put("domainSocketDir", Path.of(xenstorePath).resolveSibling("domains").toString());
            out.put("org.netvm.xenstore.server", server);
        }
        Hashtable<String, Object> client = new Hashtable<>();
        client.put("transport", transport);
        client.put("path", xenstorePath);
        if (domid > 0) {
            client.put("domid", domid); // relative paths under /local/domain/<domid>, not the connection's home
        }
        out.put("org.netvm.xenstore.client", client);
        Hashtable<String, Object> controlConfig = new Hashtable<>();
        controlConfig.put("socketPath", controlSocket);
        out.put("org.netvm.control", controlConfig);
        if (!netns.isEmpty()) {
            for (String pid : new String[] {"org.netvm.kernel", "org.netvm.backend.nftables", "org.netvm.backend.iptables"}) {
                Hashtable<String, Object> n = new Hashtable<>();
                n.put("netns", netns);
                out.put(pid, n);
            }
        }
        if (configuresGuest()) {
            Hashtable<String, Object> guest = new Hashtable<>();
            guest.put("domid", domid);
            out.put("org.netvm.guest", guest);
        }
        return out;
    }

    /** Whether this VM configures its own uplink from its xenstore keys: the guest and the proxy role. */
    public boolean configuresGuest() {
        return role.equals("guest") || role.equals("proxy");
    }

    /** Convenience for the real machine. */
    public static LaunchOptions fromSystem(Function<String, String> property) {
        return from(property, System::getenv, Files::exists);
    }
}
