package org.netvm.vif.internal;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Set;

import org.junit.jupiter.api.Test;

/** Which devices {@link LinkInput#fresh} lets the reconciler skip reading: new since the last whole read, not programmed. */
class LinkInputTest {
    private final FakeKernel kernel = new FakeKernel(new ArrayList<>());
    private final LinkInput links = new LinkInput(kernel, null);

    @Test
    void beforeAWholeReadNoDeviceIsFresh() throws Exception {
        kernel.addLink("vif3.0");
        links.read(Set.of("vif3.0"), false);
        assertFalse(links.fresh("vif3.0"));
    }

    @Test
    void aDeviceCreatedAfterTheWholeReadIsFreshUntilProgrammed() throws Exception {
        kernel.addLink("vif3.0");
        links.read(Set.of(), true);
        int index = kernel.addLink("vif4.0").index();
        links.read(Set.of("vif3.0", "vif4.0"), false);
        assertFalse(links.fresh("vif3.0"), "existed at the whole read");
        assertTrue(links.fresh("vif4.0"));
        assertFalse(links.fresh("vif5.0"), "no such device");

        links.programming("vif4.0", index);
        links.notProgrammed("vif4.0");
        assertFalse(links.fresh("vif4.0"), "programmed once: may hold objects");
    }

    @Test
    void aLaterWholeReadCoversTheDevicesItSaw() throws Exception {
        kernel.addLink("vif3.0");
        links.read(Set.of(), true);
        kernel.addLink("vif4.0");
        links.read(Set.of(), true);
        assertFalse(links.fresh("vif4.0"));
        kernel.addLink("vif5.0");
        links.adopt(LinkInput.vifLinks(kernel), Set.of());
        assertFalse(links.fresh("vif5.0"), "in the periodic check's dump");
    }
}
