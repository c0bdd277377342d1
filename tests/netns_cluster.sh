#!/usr/bin/env bash
# test_netns: a distributed graphx-run across network namespaces on one host.
#
#   tests/netns_cluster.sh BUILD_DIR
#
# Five namespaces, all suffixed with this shell's pid: a bridge namespace
# gxbr-PID holding a Linux bridge, a master namespace gxm-PID (10.213.0.1)
# and three worker namespaces gxw{1,2,3}-PID (10.213.0.2-4), each joined to
# the bridge by a veth pair. Nothing is created in the root namespace but the
# namespace names themselves; everything is removed on exit.
#
# 1. PageRank and CC across the namespaces agree with a local run (PageRank
#    within 1e-12 per vertex, CC byte for byte).
# 2. A long PageRank; once it is in supersteps one worker's link goes down
#    (the bridge end of its veth). The master must exit 1 within 10 s naming
#    that worker and "stopped answering", and all three workers must have
#    exited within 15 s.
#
# 3. A worker that advertises an address nobody can reach (10.213.77.3,
#    bound on its real one with --bind): the run fails within 15 s, the
#    master's line names that address and "cannot connect", and no healthy
#    worker is said to have stopped answering. Without --bind the same
#    worker cannot listen on the address it advertises and says so.
#
# Needs root and `ip netns`; otherwise exits 77 (ctest: skipped). Every wait
# has a deadline, and the whole script keeps within a budget (GX_BUDGET
# seconds, default 90) below ctest's TIMEOUT so that cleanup always runs.

set -u
export PATH="$PATH:/usr/sbin:/sbin"
export LC_ALL=C

BUILD=${1:-build}
RUN=$BUILD/graphx-run
WORKER=$BUILD/graphx-worker
RMAT=$BUILD/bench/rmat
BUDGET=${GX_BUDGET:-90}
START=$EPOCHREALTIME

say()  { printf 'test_netns: %s\n' "$*"; }
skip() { say "skipped: network namespaces unavailable ($*)"; exit 77; }

FAILS=0
pass() { say "PASS: $*"; }
fail() { say "FAIL: $*"; FAILS=$((FAILS + 1)); }
die()  { say "FAIL: $*"; exit 1; }        # the EXIT trap cleans up

# ---- time -------------------------------------------------------------------

now() { printf '%s' "$EPOCHREALTIME"; }
# elapsed T0 [T1]: seconds from T0 to T1 (default now), 3 decimals.
elapsed() { awk -v a="$1" -v b="${2:-$EPOCHREALTIME}" 'BEGIN { printf "%.3f", b - a }'; }
# cap S: S, or less so that the script stays within its budget (at least 1).
cap() {
    awk -v s="$1" -v st="$START" -v t="$EPOCHREALTIME" -v b="$BUDGET" \
        'BEGIN { r = b - (t - st); if (r < s) s = r; if (s < 1) s = 1; printf "%d", s }'
}
# before DEADLINE: true while the epoch time is before DEADLINE.
before() { awk -v d="$1" -v t="$EPOCHREALTIME" 'BEGIN { exit !(t < d) }'; }
deadline() { awk -v s="$1" -v t="$EPOCHREALTIME" 'BEGIN { printf "%.6f", t + s }'; }

# ---- processes --------------------------------------------------------------

PIDS=()
# spawn NAME NS LIMIT CMD...: runs CMD in namespace NS in the background,
# stdout and stderr to $T/NAME.out and $T/NAME.err, killed by timeout(1)
# after LIMIT s at the latest. Sets SPAWNED to its pid.
spawn() {
    local name=$1 ns=$2 limit=$3
    shift 3
    timeout -k 3 "$limit" ip netns exec "$ns" "$@" >"$T/$name.out" 2>"$T/$name.err" &
    SPAWNED=$!
    PIDS+=("$SPAWNED")
}
alive() { kill -0 "$1" 2>/dev/null; }
# reap PID...: ends these (our own timeout(1) wrappers: TERM reaches the
# command), KILL after 2 s.
reap() {
    local p
    for p in "$@"; do alive "$p" && kill -TERM "$p" 2>/dev/null; done
    for p in "$@"; do
        for _ in $(seq 20); do alive "$p" || break; sleep 0.1; done
        alive "$p" && kill -KILL "$p" 2>/dev/null
    done
    return 0
}
# await PID SECONDS: waits at most SECONDS for PID to exit. Sets RC (its exit
# status, or "timeout") and ENDED (the epoch time it was seen to have exited).
await() {
    local pid=$1 d
    d=$(deadline "$2")
    while alive "$pid"; do
        if ! before "$d"; then
            RC=timeout
            ENDED=
            return 1
        fi
        sleep 0.02
    done
    ENDED=$EPOCHREALTIME
    wait "$pid"
    RC=$?
    return 0
}
show_err() {   # show_err NAME: its stderr, indented, if any
    [ -s "$T/$1.err" ] && sed "s/^/    $1: /" "$T/$1.err" | head -20
    return 0
}

# ---- cleanup ----------------------------------------------------------------

BR=gxbr-$$
NSM=gxm-$$
NSW=(gxw1-$$ gxw2-$$ gxw3-$$)
NSALL=("$BR" "$NSM" "${NSW[@]}")
T=

# shellcheck disable=SC2317  # reached through the trap
cleanup() {
    local rc=$? p ns
    trap - EXIT INT TERM HUP
    for p in "${PIDS[@]}"; do
        alive "$p" && kill -TERM "$p" 2>/dev/null
    done
    for p in "${PIDS[@]}"; do
        for _ in 1 2 3 4 5 6 7 8 9 10; do alive "$p" || break; sleep 0.1; done
        alive "$p" && kill -KILL "$p" 2>/dev/null
    done
    # Anything still inside our namespaces was started by this script.
    for ns in "${NSALL[@]}"; do
        if [ -e "/run/netns/$ns" ] || [ -e "/var/run/netns/$ns" ]; then
            for p in $(ip netns pids "$ns" 2>/dev/null); do
                kill -KILL "$p" 2>/dev/null
            done
            ip netns del "$ns" 2>/dev/null || say "warning: cannot delete namespace $ns"
        fi
    done
    wait 2>/dev/null
    if [ -n "$T" ] && [ -d "$T" ]; then
        if [ -n "${GX_KEEP:-}" ]; then say "kept $T"; else rm -rf "$T"; fi
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ---- can we? ----------------------------------------------------------------

[ -x "$RUN" ] || die "no graphx-run at $RUN"
[ -x "$WORKER" ] || die "no graphx-worker at $WORKER"
command -v timeout >/dev/null || die "timeout(1) not found"
[ "$(id -u)" = 0 ] || skip "not root"
command -v ip >/dev/null || skip "no ip command"
probe=gxprobe-$$
if ! msg=$(timeout 10 ip netns add "$probe" 2>&1); then
    skip "ip netns add: ${msg:-failed}"
fi
NSALL+=("$probe")
if ! msg=$(timeout 10 ip netns del "$probe" 2>&1); then
    skip "ip netns del: ${msg:-failed}"
fi

T=$(mktemp -d /tmp/gx-netns.XXXXXX) || die "mktemp"
chmod 755 "$T"

# ---- topology ---------------------------------------------------------------

# net CMD...: an `ip` command for the topology, or skip/fail saying which.
net() {
    local out
    if ! out=$(timeout 10 ip "$@" 2>&1); then
        echo "ip $*: $out"
        return 1
    fi
}
build_net() {
    local i ns bv
    net netns add "$BR" || return 1
    net -n "$BR" link set lo up || return 1
    net -n "$BR" link add gxbr0 type bridge || return 1
    net -n "$BR" link set gxbr0 up || return 1
    for i in 1 2 3 4; do
        if [ "$i" = 1 ]; then ns=$NSM; else ns=${NSW[$((i - 2))]}; fi
        bv=gxv$i-$$           # the bridge end; the namespace end is gx0
        net netns add "$ns" || return 1
        net -n "$ns" link set lo up || return 1
        net -n "$BR" link add "$bv" type veth peer name gx0 netns "$ns" || return 1
        net -n "$BR" link set "$bv" master gxbr0 || return 1
        net -n "$BR" link set "$bv" up || return 1
        net -n "$ns" addr add "10.213.0.$i/24" dev gx0 || return 1
        net -n "$ns" link set gx0 up || return 1
    done
}
if ! why=$(build_net); then
    case $why in
        *"netns add"*) skip "$why" ;;
        *"type bridge"*|*"type veth"*) skip "$why" ;;
        *) die "topology: $why" ;;
    esac
fi
say "topology: bridge in $BR; $NSM=10.213.0.1, ${NSW[0]}=.2, ${NSW[1]}=.3, ${NSW[2]}=.4"

# Every worker reaches the master's address: a refused connection (RST from
# 10.213.0.1, nothing listens yet) proves the path; no route or a timeout
# does not.
for i in 0 1 2; do
    ok=
    d=$(deadline 10)
    while before "$d"; do
        r=$(timeout 3 ip netns exec "${NSW[$i]}" bash -c \
              'exec 3<>/dev/tcp/10.213.0.1/9' 2>&1)
        case $r in *"refused"*) ok=1; break ;; esac
        sleep 0.2
    done
    [ -n "$ok" ] || die "${NSW[$i]} cannot reach 10.213.0.1 (${r:-timed out})"
done
pass "10.213.0.1 reachable from the three worker namespaces"

# ---- inputs -----------------------------------------------------------------

SECRET=$T/secret
(umask 077; head -c 32 /dev/urandom | base64 >"$SECRET") || die "secret"
chmod 600 "$SECRET"

G=$T/graph.txt
if [ -x "$RMAT" ]; then
    "$RMAT" --scale 16 --seed 7 -o "$G" || die "rmat"
else
    awk 'BEGIN { srand(7); n = 50000;
                 for (k = 0; k < 400000; k++)
                     printf "%d %d\n", int(rand() * n), int(rand() * n) }' >"$G" \
        || die "awk graph"
fi
say "graph: $(wc -l <"$G") edges ($G)"

MASTER_EP=tcp://10.213.0.1:7070

# cluster NAME LIMIT ARGS...: starts the master (graphx-run ARGS... --master
# --workers 3 --secret-file) in its namespace, then the three workers. Sets
# MPID and WPID[0..2].
cluster() {
    local name=$1 limit=$2 i addr
    shift 2
    spawn "$name-master" "$NSM" "$limit" "$RUN" "$@" --master "$MASTER_EP" \
        --workers 3 --secret-file "$SECRET"
    MPID=$SPAWNED
    WPID=()
    for i in 0 1 2; do
        addr=(--advertise "10.213.0.$((i + 2))")
        if [ "$((i + 1))" = "${LIAR:-0}" ]; then
            addr=(--advertise "$LIAR_ADDR" ${LIAR_BIND:+--bind "$LIAR_BIND"})
        fi
        spawn "$name-w$((i + 1))" "${NSW[$i]}" "$limit" "$WORKER" \
            --master "$MASTER_EP" --threads 1 "${addr[@]}" \
            --secret-file "$SECRET" -q
        WPID+=("$SPAWNED")
    done
}

# finish NAME LIMIT: waits for a cluster run to end cleanly: master and
# workers all exit 0 within LIMIT s. Returns non-zero otherwise.
finish() {
    local name=$1 limit=$2 ok=0 i t0
    t0=$(now)
    if ! await "$MPID" "$(cap "$limit")"; then
        fail "$name: master still running after ${limit} s"
        ok=1
    elif [ "$RC" != 0 ]; then
        fail "$name: master exited $RC"
        show_err "$name-master"
        ok=1
    fi
    for i in 0 1 2; do
        if ! await "${WPID[$i]}" "$(cap 15)"; then
            fail "$name: worker $((i + 1)) still running 15 s after the master"
            ok=1
        elif [ "$RC" != 0 ]; then
            fail "$name: worker $((i + 1)) exited $RC"
            show_err "$name-w$((i + 1))"
            ok=1
        fi
    done
    if [ "$ok" = 0 ]; then
        say "$name: cluster run took $(elapsed "$t0") s (after start)"
    else
        reap "$MPID" "${WPID[@]}"     # so that the next run finds port 7070 free
    fi
    return $ok
}

# ---- 1. the same answers as a local run -------------------------------------

t0=$(now)
timeout "$(cap 30)" "$RUN" pagerank -i "$G" --workers 3 -q -o "$T/pr-local.tsv" \
    || die "local pagerank failed"
timeout "$(cap 30)" "$RUN" cc -i "$G" --workers 3 -q -o "$T/cc-local.tsv" \
    || die "local cc failed"
say "local runs: $(elapsed "$t0") s"

cluster pr 40 pagerank -i "$G" -o "$T/pr-dist.tsv" -q
if finish pagerank 30; then
    if [ -s "$T/pr-master.err" ]; then
        say "note: the master said, though -q and successful:"; show_err pr-master
    fi
    if cmp=$(awk -v tol=1e-12 '
            FNR == NR { a[$1] = $2; n++; next }
            { m++
              if (!($1 in a)) { printf "vertex %s only in the cluster output\n", $1; bad++; next }
              d = $2 - a[$1]; if (d < 0) d = -d
              if (d > max) max = d
              if (d > tol) { if (shown++ < 5) printf "vertex %s: %s vs %s\n", $1, a[$1], $2; bad++ }
              seen[$1] = 1 }
            END { for (v in a) if (!(v in seen)) { if (shown++ < 5) printf "vertex %s missing\n", v; bad++ }
                  printf "vertices %d/%d, max |diff| %.3g\n", n, m, max
                  exit bad > 0 || n == 0 }' "$T/pr-local.tsv" "$T/pr-dist.tsv"); then
        pass "pagerank across namespaces = local within 1e-12 ($cmp)"
    else
        fail "pagerank across namespaces differs from local:"
        printf '    %s\n' "$cmp" | head -8
    fi
fi

cluster cc 40 cc -i "$G" -o "$T/cc-dist.tsv" -q
if finish cc 30; then
    if cmp -s "$T/cc-local.tsv" "$T/cc-dist.tsv"; then
        pass "cc across namespaces byte-identical to local ($(wc -l <"$T/cc-dist.tsv") vertices)"
    else
        fail "cc across namespaces differs from local: $(cmp "$T/cc-local.tsv" "$T/cc-dist.tsv" 2>&1 | head -1)"
    fi
fi

# ---- 2. a worker cut off mid-run --------------------------------------------

# The master without -q, so that its progress says when supersteps run.
VICTIM=2                          # worker 2: namespace gxw2, 10.213.0.3
VADDR=10.213.0.$((VICTIM + 1))
cluster long 80 pagerank -i "$G" --iterations 100000 -o "$T/long.tsv"
d=$(deadline "$(cap 30)")
insteps=
while before "$d"; do
    alive "$MPID" || break
    if grep -q '^superstep [0-9]' "$T/long-master.err"; then insteps=1; break; fi
    sleep 0.1
done
if [ -z "$insteps" ]; then
    await "$MPID" 1
    show_err long-master
    die "long run: no superstep within 30 s (master ${RC})"
fi
sleep 2                           # well into the supersteps
for i in 0 1 2; do
    alive "${WPID[$i]}" || { show_err "long-w$((i + 1))"; die "long run: worker $((i + 1)) exited before the cut"; }
done
alive "$MPID" || { show_err long-master; die "long run: master exited before the cut"; }
step=$(grep -o '^superstep [0-9]*' "$T/long-master.err" | tail -1)

bv=gxv$((VICTIM + 1))-$$
net -n "$BR" link set dev "$bv" down >/dev/null || die "cannot set $bv down"
tcut=$(now)
say "long run: cut worker $VICTIM ($VADDR, ${NSW[$((VICTIM - 1))]}) off at about ${step:-superstep ?}"

if ! await "$MPID" "$(cap 12)"; then
    fail "master still running 12 s after the cut"
else
    mrc=$RC
    det=$(elapsed "$tcut" "$ENDED")
    say "detection time: master exited $det s after the link went down (exit $mrc)"
    if awk -v x="$det" 'BEGIN { exit !(x <= 10) }'; then
        pass "master exited within 10 s of the cut ($det s)"
    else
        fail "master took $det s (> 10 s) to exit after the cut"
    fi
    if [ "$mrc" = 1 ]; then pass "master exit status 1"; else fail "master exit status $mrc, not 1"; fi
    # Its error lines: those but progress (stage lines and the wait note).
    errline=$(grep -v -e '^superstep ' -e '^loading' -e '^partitioning' \
                 -e '^writing' -e ': waiting for [0-9]* workers at ' "$T/long-master.err")
    say "master said: ${errline:-<nothing>}"
    if grep 'stopped answering' "$T/long-master.err" | grep 'worker process' \
            | grep -q -F "$VADDR:"; then
        pass "master stderr names worker process $VADDR: and 'stopped answering'"
    else
        fail "master stderr lacks a line with 'worker process', '$VADDR:' and 'stopped answering'"
        show_err long-master
    fi
    if [ "$(printf '%s\n' "$errline" | grep -c .)" = 1 ]; then
        pass "master wrote one error line"
    else
        fail "master wrote $(printf '%s\n' "$errline" | grep -c .) error lines, not one"
    fi
fi

for i in 0 1 2; do
    if ! await "${WPID[$i]}" "$(cap "$(awk -v c="$tcut" -v t="$EPOCHREALTIME" \
            'BEGIN { r = 15 - (t - c); if (r < 0.1) r = 0.1; printf "%.3f", r }')")"; then
        fail "worker $((i + 1)) (10.213.0.$((i + 2))) still running 15 s after the cut"
        continue
    fi
    wt=$(elapsed "$tcut" "$ENDED")
    if awk -v x="$wt" 'BEGIN { exit !(x <= 15) }' && [ "$RC" != 0 ] && [ "$RC" != 124 ] && [ "$RC" != 137 ]; then
        pass "worker $((i + 1)) (10.213.0.$((i + 2))) exited $RC, $wt s after the cut"
    else
        fail "worker $((i + 1)) (10.213.0.$((i + 2))) exited $RC, $wt s after the cut (want non-zero within 15 s)"
    fi
    [ -s "$T/long-w$((i + 1)).err" ] && show_err "long-w$((i + 1))"
done

# ---- 3. a worker that advertises an address nobody reaches -----------------

reap "$MPID" "${WPID[@]}"
net -n "$BR" link set dev "$bv" up >/dev/null || die "cannot set $bv up again"
LIAR=2 LIAR_ADDR=10.213.77.3 LIAR_BIND=10.213.0.3
cluster liar 30 cc -i "$G" -o "$T/liar.tsv" -q
if ! await "$MPID" "$(cap 15)"; then
    fail "wrong --advertise: master still running after 15 s"
    for n in liar-master liar-w1 liar-w2 liar-w3; do say "$n:"; show_err "$n"; done
elif [ "$RC" = 0 ]; then
    fail "wrong --advertise: the run succeeded"
else
    say "wrong --advertise: master said: $(cat "$T/liar-master.err")"
    if grep -q -F 'cannot connect to worker process' "$T/liar-master.err" \
            && grep -q -F "$LIAR_ADDR:" "$T/liar-master.err"; then
        pass "wrong --advertise: the master names $LIAR_ADDR and 'cannot connect'"
    else
        fail "wrong --advertise: the master's line lacks 'cannot connect' and $LIAR_ADDR"
    fi
    if grep -q 'stopped answering' "$T/liar-master.err"; then
        fail "wrong --advertise: a worker was said to have stopped answering"
    else
        pass "wrong --advertise: no healthy worker blamed"
    fi
fi
reap "$MPID" "${WPID[@]}"
LIAR_BIND=
cluster nobind 20 cc -i "$G" -o "$T/nobind.tsv" -q --wait-timeout 5
if await "${WPID[1]}" "$(cap 10)" && [ "$RC" != 0 ] \
        && grep -q -F "cannot listen on tcp://$LIAR_ADDR:" "$T/nobind-w2.err"; then
    pass "an address a worker cannot bind: it says so ($(head -c 200 "$T/nobind-w2.err"))"
else
    fail "an address a worker cannot bind: exit $RC, said: $(cat "$T/nobind-w2.err")"
fi
reap "$MPID" "${WPID[@]}"
LIAR=0

say "total $(elapsed "$START") s"
if [ "$FAILS" -gt 0 ]; then
    say "FAILED ($FAILS checks)"
    exit 1
fi
say "all checks passed"
exit 0
