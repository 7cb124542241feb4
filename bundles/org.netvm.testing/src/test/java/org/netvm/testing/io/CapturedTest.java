package org.netvm.testing.io;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class CapturedTest {

    @Test
    void keepsStatusAndBothStreams() {
        Captured c = Captured.run((out, err) -> {
            out.print("héllo");
            err.println("bad");
            return 3;
        });
        assertEquals(new Captured(3, "héllo", "bad\n"), c);
    }
}
