package org.netvm.dataplane;

import java.util.regex.Pattern;

/** Validation of names shared by the model types. */
final class Names {
    private static final Pattern OBJECT = Pattern.compile("[A-Za-z][A-Za-z0-9_-]{0,30}");
    private static final Pattern IFNAME = Pattern.compile("[A-Za-z0-9_.*-]{1,15}");
    private static final Pattern OWNER = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}");

    private Names() {
    }

    /** Chain and set names: {@code ^[A-Za-z][A-Za-z0-9_-]{0,30}$}, and not an nft keyword ({@link ReservedNames}). */
    static String object(String what, String name) {
        if (name == null || !OBJECT.matcher(name).matches()) {
            throw new IllegalArgumentException(what + " name must match ^[A-Za-z][A-Za-z0-9_-]{0,30}$: "
                    + quote(name));
        }
        if (ReservedNames.WORDS.contains(name)) {
            throw new IllegalArgumentException(what + " name " + quote(name) + " is an nft keyword, which nft"
                    + " cannot read as a name: choose another");
        }
        return name;
    }

    /** Interface names, with a trailing {@code *} wildcard if {@code wildcard}. */
    static String ifname(String name, boolean wildcard) {
        if (name == null || !IFNAME.matcher(name).matches()) {
            throw new IllegalArgumentException(
                    "interface name must match ^[A-Za-z0-9_.*-]{1,15}$: " + quote(name));
        }
        int star = name.indexOf('*');
        if (star >= 0 && (!wildcard || star != name.length() - 1)) {
            throw new IllegalArgumentException(wildcard
                    ? "interface name may contain '*' only as its last character: " + quote(name)
                    : "interface name may not contain a wildcard here: " + quote(name));
        }
        if (name.equals("*") || name.equals(".") || name.equals("..")) {
            throw new IllegalArgumentException("not a usable interface name: " + quote(name));
        }
        return name;
    }

    static String owner(String owner) {
        if (owner == null || !OWNER.matcher(owner).matches()) {
            throw new IllegalArgumentException(
                    "owner id must match ^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$: " + quote(owner));
        }
        return owner;
    }

    static String quote(String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder b = new StringBuilder("\"");
        for (int i = 0; i < s.length() && i < 80; i++) {
            char c = s.charAt(i);
            b.append(c >= 0x20 && c < 0x7f && c != '"' && c != '\\' ? String.valueOf(c)
                    : String.format("\\u%04x", (int) c));
        }
        return b.append(s.length() > 80 ? "...\"" : "\"").toString();
    }
}
