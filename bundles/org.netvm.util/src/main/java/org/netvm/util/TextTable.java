package org.netvm.util;

import java.util.List;

/**
 * A table for a terminal: every column but the last padded to its widest cell plus two spaces, trailing
 * blanks stripped, one line per row. Used by {@code netvm status} and {@code netvm vif list}, so both
 * print guests the same way. Cells are printed as given: callers clean what came from outside.
 */
public final class TextTable {

    private TextTable() {
    }

    /** Appends {@code rows} (the first one being the header) to {@code out}, each ending in a newline. */
    public static StringBuilder append(StringBuilder out, List<String[]> rows) {
        if (rows.isEmpty()) {
            return out;
        }
        int columns = rows.get(0).length;
        int[] width = new int[columns];
        for (String[] row : rows) {
            for (int i = 0; i < Math.min(row.length, columns) - 1; i++) {
                width[i] = Math.max(width[i], row[i].length());
            }
        }
        for (String[] row : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < row.length; i++) {
                line.append(row[i]);
                if (i < row.length - 1 && i < columns - 1) {
                    line.append(" ".repeat(width[i] + 2 - row[i].length()));
                }
            }
            out.append(line.toString().stripTrailing()).append('\n');
        }
        return out;
    }
}
