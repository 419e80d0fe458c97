#!/usr/bin/env bash
# The in-process pipeline over several code layouts: on our hosts, moving functions around
# (any rebuild does) shifts a 1 KiB delivery's framework / hand-written ratio by a few per cent
# either way, as much as a small change does. This builds the interleaved harness several
# times, each with the linker shuffling the order of its functions by another seed (lld's
# --shuffle-sections; the machine code is the same), and reports the ratio of each layout and
# their median: a figure, and a comparison of two versions, that layout luck does not decide.
#
#   benches/layouts.sh build LABEL            # the working tree, $SEEDS layouts (default 8)
#   benches/layouts.sh run KIND SIZE LABEL... # e.g. run duplicate 1024 before after
#
# `build` writes $OUT/LABEL.sN (default OUT=$CARGO_TARGET_DIR/layouts, or target/layouts).
# `run` takes each seed in turn and runs every LABEL's build of it, one after the other, so
# labels are compared layout by layout and minutes apart at most; KIND and SIZE are the
# interleaved harness's (new, duplicate or verify-<scheme>; body bytes), run for $ROUNDS
# rounds (default 3000) of 200. Bounded: a run is about ROUNDS x 200 deliveries per label and
# seed (a few seconds at 1 KiB). Every build must come from the same machine and toolchain.
set -euo pipefail

cd "$(dirname "$0")/.."
SEEDS=${SEEDS:-8}
ROUNDS=${ROUNDS:-3000}
TARGET=${CARGO_TARGET_DIR:-target}
OUT=${OUT:-$TARGET/layouts}

usage() {
    sed -n '2,18p' "$0" >&2
    exit 2
}

build() {
    local label=$1
    mkdir -p "$OUT"
    for seed in $(seq 1 "$SEEDS"); do
        # Only the final link changes between seeds: the dependencies are built once.
        cargo rustc --quiet --release -p webhook-benches --example interleaved -- \
            -C "link-arg=-Wl,--shuffle-sections=.text*=$seed"
        cp "$TARGET/release/examples/interleaved" "$OUT/$label.s$seed"
        echo "built $OUT/$label.s$seed"
    done
}

run() {
    local kind=$1 size=$2
    shift 2
    local label seed ratio
    declare -A ratios
    for label in "$@"; do
        [[ -x $OUT/$label.s1 ]] || { echo "no build $OUT/$label.s1: run '$0 build $label'" >&2; exit 1; }
        ratios[$label]=""
    done
    for seed in $(seq 1 "$SEEDS"); do
        for label in "$@"; do
            ratio=$("$OUT/$label.s$seed" "$kind" "$size" "$ROUNDS" 200 | grep -o '= [0-9.]*' | cut -c3-)
            [[ -n $ratio ]] || { echo "$OUT/$label.s$seed printed no ratio" >&2; exit 1; }
            echo "$label seed $seed: $ratio"
            ratios[$label]="${ratios[$label]} $ratio"
        done
    done
    for label in "$@"; do
        # shellcheck disable=SC2086
        printf '%s\n' ${ratios[$label]} | sort -n | awk -v label="$label" -v what="$kind $size" '
            { r[NR] = $1; all = all " " $1 }
            END {
                median = (NR % 2) ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2
                printf "%s %s B: ratio median %.3f over %d layouts (%s )\n",
                    label, what, median, NR, all
            }'
    done
}

case ${1:-} in
    build) [[ $# -eq 2 ]] || usage; build "$2" ;;
    run) [[ $# -ge 4 ]] || usage; run "${@:2}" ;;
    *) usage ;;
esac
