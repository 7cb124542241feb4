package org.netvm.cli.config;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The configuration verbs that need no agent: {@code netvm config check [FILE]} and the generator of
 * the reference ({@code reference [--write FILE | --check FILE] JAR...}). Plain Java:
 * {@code java -cp netvm-cli.jar org.netvm.cli.config.ConfigTool ...}; {@code bin/netvm} calls
 * {@link #check} through {@code NetvmCli}.
 */
public final class ConfigTool {

    static final String CHECK_USAGE = "usage: netvm config check [--role netvm|guest|proxy] [FILE]   (default: the "
            + "installed configuration of the role, /etc/netvm/netvm.json or guest.json)";

    private ConfigTool() {
    }

    public static void main(String[] argv) {
        List<String> args = List.of(argv);
        if (!args.isEmpty() && args.get(0).equals("reference")) {
            System.exit(reference(args.subList(1, args.size()), System.out, System.err));
        }
        System.err.println("usage: ConfigTool reference [--write FILE | --check FILE] JAR...");
        System.exit(2);
    }

    /**
     * {@code netvm config check [FILE]}: exit 0 when the file is valid, 1 with one line per problem,
     * 2 for a usage error (or no metatype to check against).
     *
     * @param jars the runtimes' jars and the deploy directory's extensions, whose metatype is the schema
     * @param defaultFile the installed configuration, checked when no FILE is given
     */
    public static int check(List<String> args, List<Path> jars, Path defaultFile, PrintStream out, PrintStream err) {
        if (args.size() > 1 || args.size() == 1 && args.get(0).startsWith("-")) {
            err.println(CHECK_USAGE);
            return 2;
        }
        Path file = args.isEmpty() ? defaultFile : Path.of(args.get(0));
        if (file == null) {
            out.println("no configuration file: the built-in defaults apply");
            return 0;
        }
        Metatype metatype = new Metatype();
        for (Path jar : jars) {
            try {
                metatype.addJar(jar);
            } catch (IOException e) {
                err.println("netvm config check: cannot read the metatype of " + jar + ": " + e.getMessage());
                return 2;
            }
        }
        if (metatype.pids().isEmpty()) {
            err.println("netvm config check: no metatype found in " + jars + " (is netvm installed?)");
            return 2;
        }
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (MalformedInputException e) {
            out.println(file + ":1:1: not UTF-8 text");
            return 1;
        } catch (IOException e) {
            err.println("netvm config check: cannot read " + file + ": " + e.getMessage());
            return 1;
        }
        ConfigCheck.Result r = ConfigCheck.check(text, metatype);
        for (ConfigCheck.Problem p : r.problems()) {
            out.println(p.format(file.toString()));
        }
        if (r.ok()) {
            out.println(file + ": ok (" + r.values().size() + " PIDs checked against the metatype of "
                    + metatype.pids().size() + " PIDs)");
            return 0;
        }
        err.println("netvm config check: " + r.problems().size() + (r.problems().size() == 1 ? " problem" : " problems")
                + " in " + file);
        return 1;
    }

    /** The jars whose metatype {@code config check} uses: the runtimes in LIB, then the deploy directory's jars. */
    public static List<Path> schemaJars(Path lib, Path bundlesDir) {
        List<Path> jars = new ArrayList<>();
        for (String name : new String[] {"netvm.jar", "netvm-guest.jar"}) {
            if (lib != null && Files.isRegularFile(lib.resolve(name))) {
                jars.add(lib.resolve(name));
            }
        }
        jars.addAll(deployJars(bundlesDir));
        return jars;
    }

    /** The {@code *.jar} files of a deploy directory, sorted by name; none when it is missing. */
    public static List<Path> deployJars(Path dir) {
        List<Path> out = new ArrayList<>();
        if (dir == null || !Files.isDirectory(dir)) {
            return out;
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.jar")) {
            ds.forEach(p -> {
                if (Files.isRegularFile(p)) {
                    out.add(p);
                }
            });
        } catch (IOException e) {
            // unreadable: none
        }
        out.sort(null);
        return out;
    }

    static int reference(List<String> args, PrintStream out, PrintStream err) {
        String mode = args.isEmpty() ? "" : args.get(0);
        boolean write = mode.equals("--write");
        boolean check = mode.equals("--check");
        if ((write || check) && args.size() < 3 || !write && !check && args.isEmpty()) {
            err.println("usage: ConfigTool reference [--write FILE | --check FILE] JAR...");
            return 2;
        }
        Metatype metatype = new Metatype();
        try {
            for (String jar : args.subList(write || check ? 2 : 0, args.size())) {
                metatype.addJar(Path.of(jar));
            }
            String text = ConfigReference.markdown(metatype);
            if (!write && !check) {
                out.print(text);
                return 0;
            }
            Path doc = Path.of(args.get(1));
            if (write) {
                Files.writeString(doc, text, StandardCharsets.UTF_8);
                return 0;
            }
            if (!Files.isRegularFile(doc) || !Files.readString(doc, StandardCharsets.UTF_8).equals(text)) {
                err.println(doc + " is out of date with the bundles' metatype; regenerate it with: "
                        + "java -cp distribution/target/netvm-cli.jar org.netvm.cli.config.ConfigTool reference --write "
                        + doc + " distribution/target/netvm.jar distribution/target/netvm-guest.jar");
                return 1;
            }
            return 0;
        } catch (IOException e) {
            err.println("reference: " + e.getMessage());
            return 1;
        }
    }
}
