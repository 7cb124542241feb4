package org.netvm.cli.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Sets one string attribute in a Configurator JSON file by editing the text in place: the rest of
 * the file (order, comments, spacing) is kept. For {@code netvm backend use --permanent NAME}.
 */
public final class ConfigEdit {

    private ConfigEdit() {
    }

    /**
     * The text with {@code pid}'s {@code key} set to the string {@code value}: the existing value
     * replaced, or the member added first in the PID's object, or the PID added first in the file.
     *
     * @throws Json.ParseException when the text is not valid JSON (nothing is changed then)
     */
    public static String setString(String text, String pid, String key, String value) throws Json.ParseException {
        Json.Value doc = Json.parse(text);
        if (!(doc instanceof Json.Obj top)) {
            throw new Json.ParseException(1, 1, "the file must be one JSON object whose members are PIDs");
        }
        String quoted = ConfigCheck.quote(value);
        for (Json.Member m : top.members()) {
            if (m.key().equals(pid) && m.value() instanceof Json.Obj obj) {
                for (Json.Member a : obj.members()) {
                    String k = a.key().contains(":") ? a.key().substring(0, a.key().indexOf(':')) : a.key();
                    if (k.equals(key)) {
                        return text.substring(0, a.keyPos().start()) + ConfigCheck.quote(key) + ": " + quoted
                                + text.substring(a.value().pos().end());
                    }
                }
                int at = obj.pos().start() + 1;
                String member = " " + ConfigCheck.quote(key) + ": " + quoted + (obj.members().isEmpty() ? " " : ",");
                return text.substring(0, at) + member + text.substring(at);
            }
        }
        int at = top.pos().start() + 1;
        String entry = "\n  " + ConfigCheck.quote(pid) + ": { " + ConfigCheck.quote(key) + ": " + quoted + " }"
                + (top.members().isEmpty() ? "\n" : ",");
        return text.substring(0, at) + entry + text.substring(at);
    }

    /** Replaces {@code file} with {@code text} atomically (a temporary file beside it, then a rename), mode 0644. */
    public static void write(Path file, String text) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Path tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
        try {
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
