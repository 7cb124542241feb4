package org.netvm.backend.nftables.internal;

import org.netvm.util.ProcessRunner;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Records every call; answers from a queue of scripted results (default: success, empty output).
 * {@code nft list table} without {@code -n} (a full apply reading the user's rules first) is recorded in {@link #lists}
 * and answered from {@link #listing}, so tests count and script the transactions only.
 */
final class FakeRunner implements ProcessRunner {
    record Call(List<String> argv, String stdin) {
    }

    final List<Call> calls = new ArrayList<>();
    final Deque<Result> answers = new ArrayDeque<>();
    final List<Call> lists = new ArrayList<>();
    Result listing = new Result(1, "", "Error: No such file or directory");

    FakeRunner answer(int exit, String stdout, String stderr) {
        answers.add(new Result(exit, stdout, stderr));
        return this;
    }

    @Override
    public Result run(List<String> argv, String stdin) {
        int at = argv.indexOf("list");
        if (at >= 0 && !argv.contains("-n") && at + 1 < argv.size() && argv.get(at + 1).equals("table")) {
            lists.add(new Call(List.copyOf(argv), stdin));
            return listing;
        }
        calls.add(new Call(List.copyOf(argv), stdin));
        return answers.isEmpty() ? new Result(0, "", "") : answers.poll();
    }

    Call last() {
        return calls.get(calls.size() - 1);
    }
}
