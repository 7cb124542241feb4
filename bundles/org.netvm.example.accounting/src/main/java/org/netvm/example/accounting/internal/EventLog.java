package org.netvm.example.accounting.internal;

import java.io.IOException;

/** Where event lines go: a seam, so that tests need no files. */
interface EventLog {

    /** Appends one line (without its newline). */
    void append(String line) throws IOException;

    /** Where the lines are, for humans. */
    String location();
}
