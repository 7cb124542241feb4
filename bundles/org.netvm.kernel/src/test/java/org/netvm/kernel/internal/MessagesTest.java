package org.netvm.kernel.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.lang.foreign.Arena;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.netvm.kernel.Address;
import org.netvm.kernel.IpPrefix;
import org.netvm.kernel.MacAddress;
import org.netvm.kernel.Neighbour;
import org.netvm.kernel.Op;
import org.netvm.kernel.Route;
import org.netvm.kernel.Scope;

/**
 * Requests and replies share their layout (nlmsghdr, family header, attributes), so decoding
 * what was encoded must give back the value: a check of offsets and attribute types without root.
 */
class MessagesTest {
    private final Arena arena = Arena.ofConfined();
    private final Nl.Writer w = new Nl.Writer(arena.allocate(4096, 8));
    private static final Map<Integer, String> NAMES = Map.of(7, "vif3.0");

    @AfterEach
    void close() {
        arena.close();
    }

    @Test
    void hostRouteRoundTrip() {
        Route r = Route.host(IpPrefix.parseAddress("10.137.0.5"), "vif3.0").withMetric(32749);
        Messages.encode(w, new Op.RouteReplace(r), 7, 42);
        assertEquals(Nl.RTM_NEWROUTE, Nl.u16(w.buf, 4));
        assertEquals(Nl.NLM_F_REQUEST | Nl.NLM_F_ACK | Nl.NLM_F_CREATE | Nl.NLM_F_REPLACE, Nl.u16(w.buf, 6));
        assertEquals(42, Nl.i32(w.buf, 8));
        assertEquals(w.pos, Nl.i32(w.buf, 0));
        assertEquals(r, Messages.route(w.buf, 0, w.pos, NAMES::get));
    }

    @Test
    void defaultRouteOnlinkIpv6RoundTrip() {
        Route r = Route.defaultVia(IpPrefix.parseAddress("fe80::1"), "vif3.0").withOnlink(true).withTable(1000);
        Messages.encode(w, new Op.RouteReplace(r), 7, 1);
        assertEquals(r, Messages.route(w.buf, 0, w.pos, NAMES::get));
    }

    @Test
    void routeDeleteMatchesAnyScope() {
        Route r = Route.host(IpPrefix.parseAddress("10.137.0.5"), "vif3.0");
        Messages.encode(w, new Op.RouteDelete(r), 7, 1);
        assertEquals(Nl.RTM_DELROUTE, Nl.u16(w.buf, 4));
        assertEquals(Nl.RT_SCOPE_NOWHERE, Nl.u8(w.buf, 16 + 6));
        assertEquals(Route.PROTO_NETVM, Nl.u8(w.buf, 16 + 5));
        assertNull(Messages.route(w.buf, 0, w.pos, NAMES::get), "type 0: not a unicast route");
    }

    @Test
    void addressRoundTrip() {
        Address a = Address.of("vif3.0", IpPrefix.parse("fd09:24ef:4179::a89:1/128")).withScope(Scope.LINK);
        Messages.encode(w, new Op.AddressReplace(a), 7, 1);
        assertEquals(a, Messages.address(w.buf, 0, w.pos, NAMES::get));
    }

    @Test
    void neighbourRoundTrip() {
        Neighbour n = Neighbour.permanent(IpPrefix.parseAddress("10.137.0.5"), MacAddress.parse("00:16:3e:5e:6c:00"), "vif3.0");
        Messages.encode(w, new Op.NeighbourReplace(n), 7, 1);
        assertEquals(n, Messages.neighbour(w.buf, 0, w.pos, NAMES::get));
    }

    @Test
    void severalMessagesBackToBack() {
        Route r = Route.host(IpPrefix.parseAddress("10.137.0.5"), "vif3.0");
        Messages.encode(w, new Op.LinkSet("vif3.0", 2, Op.Admin.UP), 7, 1);
        int second = w.pos;
        Messages.encode(w, new Op.RouteReplace(r), 7, 2);
        assertEquals(0, second % 4);
        assertEquals(Nl.RTM_NEWLINK, Nl.u16(w.buf, 4));
        assertEquals(7, Nl.i32(w.buf, 20));
        assertEquals(2, Nl.i32(w.buf, second + 8));
        assertEquals(r, Messages.route(w.buf, second, w.pos - second, NAMES::get));
    }
}
