package org.netvm.vif.internal;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A vif's interface name {@code vifD.N} with its domid D and device id N. Names come from hostile
 * places (xenstore directory names, hotplug arguments, kernel link names), so parsing is strict:
 * {@code ^vif(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$}, at most 5 digits each (the name fits IFNAMSIZ).
 * The domid range (at most {@link #MAX_DOMID}) is checked by validation, not here, so that an
 * out-of-range vif can still be named in an error.
 */
record VifName(String name, int domid, int devid) implements Comparable<VifName> {
    /** The highest domid a guest vif may have (the route metric {@code 32752 - domid} stays >= 0). */
    static final int MAX_DOMID = 32752;

    private static final Pattern NAME = Pattern.compile("vif(0|[1-9][0-9]{0,4})\\.(0|[1-9][0-9]{0,4})");
    private static final Pattern ID = Pattern.compile("0|[1-9][0-9]{0,4}");

    /** The vif named {@code name}, empty if the name is not of the vif pattern. */
    static Optional<VifName> parse(String name) {
        if (name == null || name.length() > 15) {
            return Optional.empty();
        }
        Matcher m = NAME.matcher(name);
        if (!m.matches()) {
            return Optional.empty();
        }
        return Optional.of(new VifName(name, Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))));
    }

    /** The vif of xenstore directory names {@code <domid>/<devid>}, empty unless both are plain numbers. */
    static Optional<VifName> of(String domid, String devid) {
        if (!isId(domid) || !isId(devid)) {
            return Optional.empty();
        }
        return parse("vif" + domid + "." + devid);
    }

    static boolean isId(String s) {
        return s != null && ID.matcher(s).matches();
    }

    boolean domidInRange() {
        return domid <= MAX_DOMID;
    }

    /** {@code <base>/<domid>/<devid>}. */
    String xenbusPath(String base) {
        return base + "/" + domid + "/" + devid;
    }

    @Override
    public int compareTo(VifName o) {
        int c = Integer.compare(domid, o.domid);
        return c != 0 ? c : Integer.compare(devid, o.devid);
    }

    @Override
    public String toString() {
        return name;
    }
}
