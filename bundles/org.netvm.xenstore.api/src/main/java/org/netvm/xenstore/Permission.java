package org.netvm.xenstore;

import java.util.Objects;

/**
 * One entry of a node's permission list, written as xenstored does: {@code n5}, {@code r0}, {@code w3},
 * {@code b7}. In a list, the first entry names the owner (who may always read and write) and the
 * access everyone not listed gets.
 */
public record Permission(int domid, Access access) {

    /** Access letters as on the wire. */
    public enum Access {
        NONE('n'), READ('r'), WRITE('w'), BOTH('b');

        private final char letter;

        Access(char letter) {
            this.letter = letter;
        }

        public char letter() {
            return letter;
        }

        public boolean canRead() {
            return this == READ || this == BOTH;
        }

        public boolean canWrite() {
            return this == WRITE || this == BOTH;
        }

        public static Access of(char letter) {
            for (Access a : values()) {
                if (a.letter == letter) {
                    return a;
                }
            }
            throw new IllegalArgumentException("unknown access letter '" + letter + "'");
        }
    }

    public Permission {
        Objects.requireNonNull(access, "access");
        if (domid < 0 || domid > 0xFFFF) {
            throw new IllegalArgumentException("domid out of range: " + domid);
        }
    }

    /** Parses {@code r5}; throws {@link IllegalArgumentException} on anything else. */
    public static Permission parse(String text) {
        if (text == null || text.length() < 2 || text.length() > 6) {
            throw new IllegalArgumentException("bad permission: " + text);
        }
        Access access = Access.of(text.charAt(0));
        String digits = text.substring(1);
        for (int i = 0; i < digits.length(); i++) {
            if (digits.charAt(i) < '0' || digits.charAt(i) > '9') {
                throw new IllegalArgumentException("bad permission: " + text);
            }
        }
        return new Permission(Integer.parseInt(digits), access);
    }

    @Override
    public String toString() {
        return access.letter() + Integer.toString(domid);
    }
}
