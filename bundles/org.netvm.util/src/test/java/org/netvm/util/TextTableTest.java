package org.netvm.util;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class TextTableTest {

    @Test
    void padsEveryColumnButTheLastToItsWidestCellPlusTwo() {
        String text = TextTable.append(new StringBuilder("head\n"), List.of(
                new String[] {"VIF", "DOMID", "ERROR"},
                new String[] {"vif12.0", "12", "-"},
                new String[] {"vif3.0", "3", "address 10.137.0.1 is the gateway"})).toString();
        assertEquals("head\n"
                + "VIF      DOMID  ERROR\n"
                + "vif12.0  12     -\n"
                + "vif3.0   3      address 10.137.0.1 is the gateway\n", text);
    }

    @Test
    void stripsTrailingBlanksOfEmptyLastCells() {
        String text = TextTable.append(new StringBuilder(), List.of(
                new String[] {"A", "B"}, new String[] {"long-cell", ""})).toString();
        assertEquals("A          B\nlong-cell\n", text);
    }

    @Test
    void noRowsNoLines() {
        assertEquals("", TextTable.append(new StringBuilder(), List.of()).toString());
    }
}
