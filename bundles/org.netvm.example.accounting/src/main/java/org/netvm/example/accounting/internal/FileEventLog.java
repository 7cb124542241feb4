package org.netvm.example.accounting.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Appends to {@code <directory>/events.jsonl}, creating the directory if needed. */
final class FileEventLog implements EventLog {
    static final String FILE = "events.jsonl";

    private final Path file;

    FileEventLog(Path directory) {
        this.file = directory.resolve(FILE);
    }

    @Override
    public synchronized void append(String line) throws IOException {
        Files.createDirectories(file.getParent());
        Files.writeString(file, line + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND, StandardOpenOption.WRITE);
    }

    @Override
    public String location() {
        return file.toString();
    }
}
