package org.netvm.kernel;

import java.util.HexFormat;
import java.util.Objects;
import java.util.regex.Pattern;

/** A 48-bit link-layer address, kept in lower case: {@code fe:ff:ff:ff:ff:ff}. */
public record MacAddress(String text) {
    private static final Pattern MAC = Pattern.compile("[0-9a-f]{2}(:[0-9a-f]{2}){5}");
    private static final HexFormat HEX = HexFormat.ofDelimiter(":");

    /** The fixed MAC of the netvm's side of every Qubes vif. */
    public static final MacAddress QUBES_GATEWAY = new MacAddress("fe:ff:ff:ff:ff:ff");

    public MacAddress {
        Objects.requireNonNull(text, "text");
        text = text.toLowerCase(java.util.Locale.ROOT);
        if (!MAC.matcher(text).matches()) {
            throw new IllegalArgumentException("invalid MAC address: " + Checks.quote(text));
        }
    }

    public static MacAddress parse(String text) {
        return new MacAddress(text);
    }

    public static MacAddress of(byte[] bytes) {
        if (bytes.length != 6) {
            throw new IllegalArgumentException("a MAC address has 6 bytes, not " + bytes.length);
        }
        return new MacAddress(HEX.formatHex(bytes));
    }

    public byte[] bytes() {
        return HEX.parseHex(text);
    }

    @Override
    public String toString() {
        return text;
    }
}
