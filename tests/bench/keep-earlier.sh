# keep_earlier_runs OUT: OUT.new (the run just made) becomes OUT, with OUT's earlier runs below one
# separator line. Sourced by the benchmarks that write a *-latest.txt file.
keep_earlier_runs() {
    local out=$1
    if [ -f "$out" ]; then
        echo
        echo '# ---- earlier runs ----'
        grep -vx '# ---- earlier runs ----' "$out"
    fi >>"$out.new"
    mv "$out.new" "$out"
}
