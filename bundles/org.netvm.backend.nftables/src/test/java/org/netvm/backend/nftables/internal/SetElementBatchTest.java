package org.netvm.backend.nftables.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.ByteOrder;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.netvm.dataplane.Family;
import org.netvm.dataplane.SetElement;
import org.netvm.dataplane.SetType;

/**
 * The bytes of an element batch, written out field by field from the kernel's headers
 * (include/uapi/linux/netlink.h, netfilter/nfnetlink.h, netfilter/nf_tables.h); little-endian host.
 */
class SetElementBatchTest {

    private static String hex(String annotated) {
        return annotated.replaceAll("#[^\n]*", "").replaceAll("\\s+", "");
    }

    @Test
    void oneIpv4ElementAddedIsBeginOneAckedMessageEnd() {
        assumeTrue(ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN, "golden bytes of a little-endian host");
        byte[] got = SetElementBatch.encode(7, List.of(new SetElementBatch.Change(true, Family.INET, "netvm",
                "downstream", SetType.IPV4_ADDR, List.of(SetElement.of("10.137.0.5")))));
        String want = hex("""
                14000000 1000 0100 07000000 00000000   # nlmsghdr: len 20, NFNL_MSG_BATCH_BEGIN, REQUEST, seq 7
                00 00 000a                             # nfgenmsg: AF_UNSPEC, v0, res_id NFNL_SUBSYS_NFTABLES (BE)
                44000000 0c0a 0504 08000000 00000000   # len 68, NEWSETELEM (10<<8|12), REQUEST|ACK|CREATE, seq 8
                01 00 0000                             # nfgenmsg: NFPROTO_INET
                0a00 0100 6e657476 6d000000            # NFTA_SET_ELEM_LIST_TABLE "netvm\\0" + pad
                0f00 0200 646f776e 73747265 616d0000   # NFTA_SET_ELEM_LIST_SET "downstream\\0" + pad
                1400 0380                              # NFTA_SET_ELEM_LIST_ELEMENTS, nested, len 20
                1000 0180                              #   NFTA_LIST_ELEM, nested
                0c00 0180                              #     NFTA_SET_ELEM_KEY, nested
                0800 0100 0a890005                     #       NFTA_DATA_VALUE 10.137.0.5, network order
                14000000 1100 0100 09000000 00000000   # NFNL_MSG_BATCH_END, seq 9
                00 00 000a
                """);
        assertEquals(want, HexFormat.of().formatHex(got));
    }

    @Test
    void deleteIsAckedWithoutCreateAndInTheTablesFamily() {
        assumeTrue(ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN, "golden bytes of a little-endian host");
        byte[] got = SetElementBatch.encode(1, List.of(new SetElementBatch.Change(false, Family.IP6, "t", "s",
                SetType.IPV6_ADDR, List.of(SetElement.of("fd09::1")))));
        String message = HexFormat.of().formatHex(got).substring(40, 40 + 2 * 68);
        assertEquals(hex("""
                44000000 0e0a 0500 02000000 00000000   # len 68, DELSETELEM (10<<8|14), REQUEST|ACK, seq 2
                0a 00 0000                             # NFPROTO_IPV6
                0600 0100 74000000                     # table "t"
                0600 0200 73000000                     # set "s"
                2000 0380 1c00 0180 1800 0180          # elements > elem > key
                1400 0100 fd090000 00000000 00000000 00000001
                """), message);
    }

    @Test
    void ifnameAddressIsSixteenBytesOfNameZeroPaddedThenTheAddress() {
        assertEquals("76696633 2e300000 00000000 00000000 0a890005".replace(" ", ""),
                HexFormat.of().formatHex(SetElementBatch.key(SetType.IFNAME_IPV4_ADDR, SetElement.of("vif3.0", "10.137.0.5"))));
        assertEquals(32, SetElementBatch.key(SetType.IFNAME_IPV6_ADDR, SetElement.of("vif15.1", "fd09::5")).length);
        assertEquals(16, SetElementBatch.key(SetType.IPV6_ADDR, SetElement.of("fd09::5")).length);
        assertThrows(IllegalArgumentException.class,
                () -> SetElementBatch.key(SetType.IPV4_ADDR, SetElement.of("vif3.0", "10.137.0.5")));
        assertThrows(IllegalArgumentException.class,
                () -> SetElementBatch.key(SetType.IFNAME_IPV4_ADDR, SetElement.of("fd09::5")));
    }

    @Test
    void aKeyTupleIsItsFirstAndLastKeyEachFieldPaddedToFourBytes() {
        SetElement ports = SetElement.key(org.netvm.dataplane.IpAddress.of("10.137.0.5"),
                org.netvm.dataplane.IpPrefix.parse("192.168.1.0/24"), org.netvm.dataplane.Match.Protocol.TCP, 8001, 8080);
        assertEquals("0a890005 c0a80100 06000000 1f410000".replace(" ", ""),
                HexFormat.of().formatHex(SetElementBatch.key(SetType.IPV4_SRC_DST_PROTO_PORT, ports)));
        assertEquals("0a890005 c0a801ff 06000000 1f900000".replace(" ", ""),
                HexFormat.of().formatHex(SetElementBatch.keyEnd(SetType.IPV4_SRC_DST_PROTO_PORT, ports)));
        SetElement any = SetElement.key(org.netvm.dataplane.IpAddress.of("fd09::5"),
                org.netvm.dataplane.IpPrefix.parse("2001:db8::/32"), null);
        assertEquals("fd090000000000000000000000000005 20010db8000000000000000000000000 00000000".replace(" ", ""),
                HexFormat.of().formatHex(SetElementBatch.key(SetType.IPV6_SRC_DST_PROTO, any)));
        assertEquals("fd090000000000000000000000000005 20010db8ffffffffffffffffffffffff ff000000".replace(" ", ""),
                HexFormat.of().formatHex(SetElementBatch.keyEnd(SetType.IPV6_SRC_DST_PROTO, any)));
        assertThrows(IllegalArgumentException.class, () -> SetElementBatch.keyEnd(SetType.IPV4_ADDR,
                SetElement.of("10.0.0.1")));
    }

    @Test
    void sequenceNumbersRunThroughTheBatch() {
        var c = new SetElementBatch.Change(true, Family.IP, "t", "s", SetType.IPV4_ADDR,
                List.of(SetElement.of("10.0.0.1")));
        byte[] got = SetElementBatch.encode(100, List.of(c, c, c));
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(got).order(ByteOrder.nativeOrder());
        int at = 0;
        for (int seq = 100; seq <= 104; seq++) {
            assertEquals(seq, b.getInt(at + 8));
            at += b.getInt(at);
        }
        assertEquals(got.length, at);
    }
}
