package org.netvm.backend.nftables.internal;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import org.netvm.util.ProcessRunner;

/**
 * {@link Nft} through {@code nft} processes (argument lists, no shell): a transaction is
 * {@code nft -f -} with the commands on stdin, a listing {@code nft [-j -n] list ...} with the
 * command's words as arguments.
 */
final class ProcessNft implements Nft {
    private final ProcessRunner runner;
    private final List<String> prefix;

    /** {@code prefix}: the nft command, possibly behind {@code ip netns exec NS}. */
    ProcessNft(ProcessRunner runner, List<String> prefix) {
        this.runner = runner;
        this.prefix = List.copyOf(prefix);
    }

    @Override
    public Reply run(String commands, Output output) throws IOException {
        List<String> argv = new ArrayList<>(prefix);
        String stdin = "";
        switch (output) {
            case NONE -> {
                argv.addAll(List.of("-f", "-"));
                stdin = commands;
            }
            case TEXT -> argv.addAll(words(commands));
            case JSON -> {
                argv.addAll(List.of("-j", "-n"));
                argv.addAll(words(commands));
            }
        }
        ProcessRunner.Result r = runner.run(argv, stdin);
        return new Reply(r.ok(), r.stdout(), r.stderr());
    }

    /** A listing command's words ("list table inet netvm"); rendered text only, never quoted. */
    private static List<String> words(String command) {
        return List.of(command.strip().split("\\s+"));
    }

    @Override
    public String describe() {
        return "nft processes (" + String.join(" ", prefix) + ")";
    }

    @Override
    public void close() {
    }
}
