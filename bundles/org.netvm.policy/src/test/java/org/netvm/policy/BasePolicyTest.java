package org.netvm.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.netvm.dataplane.IpAddress;
import org.netvm.dataplane.SetElement;

class BasePolicyTest {

    @Test
    void guestElementsGoToTheSetsOfTheirFamily() {
        var els = BasePolicy.guestElements("vif3.0",
                List.of(IpAddress.of("10.137.0.5"), IpAddress.of("fd09:24ef:4179:0::a89:5")));
        assertEquals(Set.of(SetElement.of("vif3.0", "10.137.0.5")), els.get(BasePolicy.ALLOWED));
        assertEquals(Set.of(SetElement.of("10.137.0.5")), els.get(BasePolicy.DOWNSTREAM));
        assertEquals(Set.of(SetElement.of("vif3.0", "fd09:24ef:4179::a89:5")), els.get(BasePolicy.ALLOWED6));
        assertEquals(Set.of(SetElement.of("fd09:24ef:4179::a89:5")), els.get(BasePolicy.DOWNSTREAM6));
    }

    @Test
    void aFamilyWithoutAddressesGetsNoElements() {
        var els = BasePolicy.guestElements("vif4.0", List.of(IpAddress.of("10.137.0.6")));
        assertEquals(Set.of(BasePolicy.ALLOWED, BasePolicy.DOWNSTREAM), els.keySet());
        assertTrue(BasePolicy.guestElements("vif4.0", List.of()).isEmpty());
    }

    @Test
    void refusesBadInterfaceNames() {
        assertThrows(IllegalArgumentException.class, () -> BasePolicy.guestElements("vif*", List.of()));
        assertThrows(IllegalArgumentException.class,
                () -> BasePolicy.guestElements("vif3.0; drop", List.of(IpAddress.of("10.137.0.5"))));
    }
}
