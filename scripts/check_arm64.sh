#!/usr/bin/env bash
# The Raspberry Pi path, checked on an x86 Debian machine: a Debian bookworm arm64 root
# under qemu-user emulation, with a Pi's CPU description, set up the way the README says.
#
#   sudo scripts/check_arm64.sh                      # Pi 4: QEMU_CPU=cortex-a72
#   sudo scripts/check_arm64.sh --cpu cortex-a76     # Pi 5
#   sudo scripts/check_arm64.sh --fresh              # build the arm64 root again
#
# Uses Debian's packages only (qemu-user-static, binfmt-support, debootstrap; installed if
# missing). The root is built once and kept in $COACH_ARM64_CACHE (default
# /var/tmp/coach-arm64); the project is copied in afresh every run (without .venv and .git),
# so the set-up runs as it does for a new user, with apt's and pip's caches warm.
# Inside it runs `./scripts/test.sh` (the README's set-up, then lint and tests), `coach doctor`
# on the project's virtual card, `coach hear` on 20 realdev recordings (two per digit, the
# same files also decoded on this machine, side by side), `coach say`, and the pure and
# recorded-digit tests. Timings under emulation say nothing about a Pi: measure on one with
# scripts/bench.py. Not part of CI (about 15-25 minutes per CPU).
#
# Its last line is `arm64: setup ok, hear N/N agree (max confidence gap X), say ok, tests P
# passed F failed`, with FAIL / failed where something failed (exit 1 then). Everything it
# mounts or starts is unmounted and stopped when it ends, also on Ctrl-C.
set -uo pipefail

PROJECT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CPU="${QEMU_CPU:-cortex-a72}"
FRESH=0
while [ $# -gt 0 ]; do
    case "$1" in
        --cpu) CPU="${2:?--cpu needs a name: cortex-a72 (Pi 4) or cortex-a76 (Pi 5)}"; shift 2 ;;
        --cpu=*) CPU="${1#--cpu=}"; shift ;;
        --fresh) FRESH=1; shift ;;
        -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "check_arm64: unknown argument $1 (fix: --cpu cortex-a72|cortex-a76, --fresh)" >&2
           exit 2 ;;
    esac
done
case "$CPU" in
    cortex-a72) BOARD="Raspberry Pi 4 Model B Rev 1.4" ;;
    cortex-a76) BOARD="Raspberry Pi 5 Model B Rev 1.0" ;;
    *) echo "check_arm64: no Pi has a $CPU (fix: --cpu cortex-a72 for a Pi 4, cortex-a76 for a Pi 5)" >&2
       exit 2 ;;
esac
if [ "$(id -u)" != 0 ]; then
    exec sudo COACH_ARM64_CACHE="${COACH_ARM64_CACHE:-}" COACH_SHARED_DIR="${COACH_SHARED_DIR:-}" \
        "$0" --cpu "$CPU" $([ $FRESH = 1 ] && echo --fresh)
fi

CACHE="${COACH_ARM64_CACHE:-/var/tmp/coach-arm64}"
ARM="$CACHE/bookworm-arm64"
SHARED="${COACH_SHARED_DIR:-$PROJECT/../shared}"
REALDEV="$SHARED/data/realdev"
OUT="$CACHE/out-$CPU"              # this run's outputs, read on the host side
MIRROR="${COACH_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
INNER=/opt/coach                    # inside: $INNER/coach (project), $INNER/shared (data)
CARD=/tmp/coach-card                # the project's virtual card, inside the root

step() { echo "check_arm64 [$CPU]: $*" >&2; }

# ---- everything started here is undone on exit, Ctrl-C or kill --------------------------
MOUNTS=()          # mount points, unmounted in reverse order
BINFMT_MOUNTED=0
cleanup() {
    trap - EXIT INT TERM
    if [ -x "$ARM$INNER/coach/.venv/bin/python" ] && [ -e "$ARM/proc/self" ]; then
        inside "$INNER/coach/.venv/bin/python -m coach.audio.virtual_card stop $CARD" \
            >/dev/null 2>&1
    fi
    local pid root
    for pid in /proc/[0-9]*; do     # whatever still runs in the arm64 root is ours
        root="$(readlink "$pid/root" 2>/dev/null)" || continue
        [ "$root" = "$ARM" ] && kill -TERM "${pid#/proc/}" 2>/dev/null
    done
    sleep 1
    for pid in /proc/[0-9]*; do
        root="$(readlink "$pid/root" 2>/dev/null)" || continue
        [ "$root" = "$ARM" ] && kill -KILL "${pid#/proc/}" 2>/dev/null
    done
    local i
    for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
        umount "${MOUNTS[$i]}" 2>/dev/null || umount -l "${MOUNTS[$i]}" 2>/dev/null \
            || step "could not unmount ${MOUNTS[$i]}"
    done
    [ $BINFMT_MOUNTED = 1 ] && umount /proc/sys/fs/binfmt_misc 2>/dev/null
    return 0
}
# fds 3 and 4: the terminal's stdout and stderr, for the interrupt's lines (a trap runs
# inside whatever redirection the interrupted step had)
exec 3>&1 4>&2
trap 'cleanup' EXIT
trap 'exec 1>&3 2>&4; step "interrupted"; cleanup; summary_line; exit 130' INT TERM

mount_at() {       # mount_at TARGET MOUNT-ARGS...: mount and remember to unmount
    local target="$1"; shift
    mount "$@" "$target" && MOUNTS+=("$target")
}

# run a command line in the arm64 root, as the emulated Pi (bash -c, in the project)
# (pip trusts this machine's certificate authorities too: a proxy that inspects TLS)
HOST_CA=/usr/local/share/coach-host-ca.crt
inside() {
    local ca=()
    [ -f "$ARM$HOST_CA" ] && ca=(PIP_CERT="$HOST_CA")
    env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        LANG=C.UTF-8 TERM=dumb QEMU_CPU="$CPU" COACH_CARD_DIR="$CARD" "${ca[@]}" \
        chroot "$ARM" /bin/bash -c "cd $INNER/coach 2>/dev/null; $1" 3>&- 4>&-
}

# ---- the host: Debian's emulator, its binfmt registration, debootstrap ------------------
host_packages() {
    local missing=() package
    for package in qemu-user-static binfmt-support debootstrap; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" \
            || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    step "installing ${missing[*]}"
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends "${missing[@]}" >&2
}

binfmt() {
    if [ ! -e /proc/sys/fs/binfmt_misc/status ]; then
        mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc && BINFMT_MOUNTED=1
    fi
    [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || update-binfmts --enable qemu-aarch64 >&2
    grep -q enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null || {
        step "FAIL: qemu-aarch64 is not registered with binfmt_misc (fix: sudo update-binfmts --enable qemu-aarch64)"
        return 1; }
}

# Without binfmt's F flag the kernel opens the interpreter inside the root: put it there.
interpreter_inside() {
    local interp
    interp="$(sed -n 's/^interpreter //p' /proc/sys/fs/binfmt_misc/qemu-aarch64)"
    mkdir -p "$ARM$(dirname "$interp")" "$ARM/usr/bin"
    cp -f /usr/bin/qemu-aarch64-static "$ARM/usr/bin/qemu-aarch64-static"
    [ "$interp" = /usr/bin/qemu-aarch64-static ] || cp -f /usr/bin/qemu-aarch64-static "$ARM$interp"
}

build_root() {
    if [ $FRESH = 1 ]; then
        step "removing the old root"
        rm -rf "$ARM"
    fi
    [ -f "$ARM/.coach-root-ok" ] && { interpreter_inside; return 0; }
    rm -rf "$ARM"
    mkdir -p "$ARM"
    step "building a minimal Debian bookworm arm64 root in $ARM (several minutes)"
    debootstrap --foreign --arch=arm64 --variant=minbase bookworm "$ARM" "$MIRROR" >&2 \
        || { step "FAIL: debootstrap"; return 1; }
    interpreter_inside
    inside "/debootstrap/debootstrap --second-stage" >&2 || { step "FAIL: debootstrap's second stage"; return 1; }
    cat > "$ARM/etc/apt/sources.list" <<EOF
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
    touch "$ARM/.coach-root-ok"
}

# ---- a Pi's CPU as the emulated programs see it ------------------------------------------
# /proc/cpuinfo and /sys/devices/system/cpu of a Pi 4 (Cortex-A72: 32K L1d, 48K L1i, one 1M
# L2) or a Pi 5 (Cortex-A76: 64K L1d and L1i, 512K L2 per core, one 2M L3). Never the host's
# /sys: onnxruntime's CPU detection crashes on the x86 host's cache lists.
pi_cpu() {
    local dir="$CACHE/pi-$CPU" n part variant revision features khz caches
    rm -rf "$dir"
    mkdir -p "$dir/sys/devices/system/cpu"
    if [ "$CPU" = cortex-a72 ]; then
        part=0xd08 variant=0x0 revision=3 khz=1800000 features="fp asimd evtstrm crc32 cpuid"
        caches="1:Data:32K:2:256:0-3:0 1:Instruction:48K:3:256:0-3:0 2:Unified:1024K:16:1024:0-3:all"
    else
        part=0xd0b variant=0x4 revision=1 khz=2400000
        features="fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp"
        caches="1:Data:64K:4:256:0-3:0 1:Instruction:64K:4:256:0-3:0 2:Unified:512K:8:1024:0-3:0 3:Unified:2048K:16:2048:0-3:all"
    fi
    : > "$dir/cpuinfo"
    for n in 0 1 2 3; do
        printf 'processor\t: %s\nBogoMIPS\t: 108.00\nFeatures\t: %s\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: %s\nCPU part\t: %s\nCPU revision\t: %s\n\n' \
            "$n" "$features" "$variant" "$part" "$revision" >> "$dir/cpuinfo"
    done
    printf 'Revision\t: %s\nSerial\t\t: 100000000coach00\nModel\t\t: %s\n' \
        "$([ "$CPU" = cortex-a72 ] && echo c03114 || echo d04170)" "$BOARD" >> "$dir/cpuinfo"
    local cpu="$dir/sys/devices/system/cpu" level type size ways sets shared index c
    for f in online possible present; do echo 0-3 > "$cpu/$f"; done
    echo 3 > "$cpu/kernel_max"
    for n in 0 1 2 3; do
        c="$cpu/cpu$n"
        mkdir -p "$c/topology" "$c/cpufreq"
        echo 1 > "$c/online"
        echo "$n" > "$c/topology/core_id"
        echo 0 > "$c/topology/physical_package_id"
        echo 0 > "$c/topology/cluster_id"
        echo "$n" > "$c/topology/thread_siblings_list"
        echo "$n" > "$c/topology/core_cpus_list"
        echo 0-3 > "$c/topology/core_siblings_list"
        echo 0-3 > "$c/topology/package_cpus_list"
        echo 0-3 > "$c/topology/cluster_cpus_list"
        echo "$khz" > "$c/cpufreq/cpuinfo_max_freq"
        echo 600000 > "$c/cpufreq/cpuinfo_min_freq"
        index=0
        for entry in $caches; do
            IFS=: read -r level type size ways sets _ shared <<< "$entry"
            mkdir -p "$c/cache/index$index"
            echo "$level" > "$c/cache/index$index/level"
            echo "$type" > "$c/cache/index$index/type"
            echo "$size" > "$c/cache/index$index/size"
            echo "$ways" > "$c/cache/index$index/ways_of_associativity"
            echo 64 > "$c/cache/index$index/coherency_line_size"
            echo "$sets" > "$c/cache/index$index/number_of_sets"
            if [ "$shared" = all ]; then
                echo 0-3 > "$c/cache/index$index/shared_cpu_list"
                echo f > "$c/cache/index$index/shared_cpu_map"
            else
                echo "$n" > "$c/cache/index$index/shared_cpu_list"
                printf '%x\n' $((1 << n)) > "$c/cache/index$index/shared_cpu_map"
            fi
            index=$((index + 1))
        done
    done
}

mounts() {
    mount_at "$ARM/proc" -t proc proc || return 1
    mount_at "$ARM/proc/cpuinfo" --bind "$CACHE/pi-$CPU/cpuinfo" || return 1
    mount_at "$ARM/sys" --bind "$CACHE/pi-$CPU/sys" || return 1
    mount_at "$ARM/dev" --bind /dev || return 1
    mount_at "$ARM/dev/pts" -t devpts devpts -o newinstance,ptmxmode=0666 || return 1
    mount_at "$ARM/dev/shm" -t tmpfs tmpfs -o mode=1777 || return 1
    mount_at "$ARM/tmp" -t tmpfs tmpfs -o mode=1777 || return 1
    cp -fL /etc/resolv.conf "$ARM/etc/resolv.conf"
    rm -f "$ARM$HOST_CA"
    [ -f /etc/ssl/certs/ca-certificates.crt ] \
        && cp -f /etc/ssl/certs/ca-certificates.crt "$ARM$HOST_CA"
    mkdir -p "$ARM$INNER/shared"
    if [ -d "$SHARED" ]; then
        mount_at "$ARM$INNER/shared" --bind "$SHARED" || return 1
        mount -o remount,bind,ro "$ARM$INNER/shared"
    fi
}

copy_project() {
    rm -rf "$ARM$INNER/coach"
    mkdir -p "$ARM$INNER/coach"
    tar -C "$PROJECT" --exclude=./.venv --exclude=./.git --exclude=__pycache__ \
        --exclude=./.pytest_cache --exclude=./.ruff_cache --exclude='./*.wav' -cf - . \
        | tar -C "$ARM$INNER/coach" -xf -
}

# ---- the checks ----------------------------------------------------------------------------
# Two recordings per digit from realdev, the first two speakers of each word in the manifest.
pick_recordings() {
    awk -F'\t' 'NR > 1 && $2 ~ /^(zero|one|two|three|four|five|six|seven|eight|nine)$/ \
        && !seen[$2 FS $3]++ && count[$2]++ < 2 { print $1 }' "$REALDEV/manifest.tsv" | sort
}

# kind, value, confidence and the words heard, from `coach hear` JSON lines, one file a line
hear_fields() {
    python3 -c '
import json, sys
for line in sys.stdin:
    line = line.strip()
    if line.startswith("{"):
        a = json.loads(line)
        print(a["file"].rsplit("/", 1)[-1], a.get("kind"), a.get("value"),
              "%.4f" % float(a.get("confidence") or 0), json.dumps(a.get("text", "")))'
}

# The table, side by side, and a RESULT line: agreeing, total, the largest confidence gap.
# They agree when kind and value are the same; or, for an answer at the threshold, when both
# heard the same words with confidences within NOISE of each other on either side of it
# (int8 arithmetic differs between x86's and arm64's kernels: on x86 alone, int8 against
# float32 moves a borderline confidence by as much).
compare_hearing() {
    python3 - "$OUT/hear-x86.txt" "$OUT/hear-arm64.txt" "$1" <<'EOF'
import json, sys
NOISE = 0.1
threshold = float(sys.argv[3])
def rows(path):
    out = {}
    for line in open(path):
        name, kind, value, conf, text = line.split(" ", 4)
        out[name] = (kind, value, float(conf), json.loads(text).strip().lower())
    return out
x86, arm = rows(sys.argv[1]), rows(sys.argv[2])
agree, gap = 0, 0.0
print(f"{'recording':34s} {'x86: kind value confidence':>28s} {'arm64: kind value confidence':>30s}  agree")
for name in sorted(set(x86) | set(arm)):
    a, b = x86.get(name), arm.get(name)
    word = "NO"
    if a and b:
        gap = max(gap, abs(a[2] - b[2]))
        if a[:2] == b[:2]:
            word = "yes"
        elif a[3] == b[3] and abs(a[2] - b[2]) <= NOISE \
                and min(a[2], b[2]) < threshold <= max(a[2], b[2]):
            word = f"yes, at the threshold {threshold:g} (both heard {a[3]!r})"
    agree += word != "NO"
    show = lambda r: "missing" if r is None else f"{r[0]} {r[1]} {r[2]:.3f}"
    print(f"{name:34s} {show(a):>28s} {show(b):>30s}  {word}")
print(f"RESULT {agree} {len(set(x86) | set(arm))} {gap:.3f}")
EOF
}

PURE_TESTS="tests/test_answers.py tests/test_adapt.py tests/test_dialogue.py tests/test_library.py tests/test_store.py tests/test_state.py tests/test_plans.py tests/test_tempo.py"
DIGIT_TESTS="tests/test_hearing.py tests/test_whisper.py"

setup=FAIL say=FAIL passed=0 failed=0 agree=0 total=0 gap=n/a
summary_line() {
    local hear_word="agree"
    [ "$total" -gt 0 ] && [ "$agree" = "$total" ] || hear_word="agree FAIL"
    echo "arm64: setup $setup, hear $agree/$total $hear_word (max confidence gap $gap), say $say, tests $passed passed $failed failed"
}

main() {
    host_packages && binfmt && build_root && pi_cpu && mounts || {
        step "FAIL: the arm64 root could not be made ready"; summary_line; return 1; }
    rm -rf "$OUT"; mkdir -p "$OUT"
    local began=$SECONDS
    copy_project
    step "the emulated CPU: $(inside 'grep -m1 "CPU part" /proc/cpuinfo; uname -m' | tr '\n' ' ')($BOARD)"

    # 1. the README's set-up: ./scripts/test.sh installs packages and .venv, starts the card
    step "set-up: ./scripts/test.sh --collect-only (system packages, .venv, the virtual card, ruff)"
    local started=$SECONDS
    if inside "./scripts/test.sh -q --collect-only tests/test_answers.py" > "$OUT/setup.log" 2>&1; then
        setup=ok
    else
        tail -20 "$OUT/setup.log" >&2
    fi
    step "set-up took $((SECONDS - started)) s (emulated)"
    local card_env=""
    if [ $setup = ok ]; then
        card_env="$(inside ".venv/bin/python -m coach.audio.virtual_card start $CARD" 2>&1)" \
            || { setup=FAIL; step "FAIL: the virtual card: $card_env"; }
        card_env="$(echo "$card_env" | grep '^export' | tr '\n' ';') export XDG_RUNTIME_DIR=$CARD;"
    fi

    # 2. coach doctor on the project's virtual card
    if [ $setup = ok ]; then
        step "coach doctor"
        inside "$card_env ./scripts/run.sh doctor" 2>&1 | tee "$OUT/doctor.log" >&2
        [ "${PIPESTATUS[0]}" = 0 ] || { setup=FAIL; step "FAIL: coach doctor"; }
    fi

    # 3. coach hear on 20 realdev recordings, here and there
    if [ $setup = ok ] && [ -f "$REALDEV/manifest.tsv" ]; then
        local files=() inner=() f
        while read -r f; do files+=("$REALDEV/$f"); inner+=("$INNER/shared/data/realdev/$f"); done \
            < <(pick_recordings)
        step "coach hear on ${#files[@]} realdev recordings: x86 (this machine)"
        (cd "$PROJECT" && ./scripts/run.sh hear "${files[@]}" --expect reps 3>&- 4>&-) \
            2>"$OUT/hear-x86.err" \
            | tee "$OUT/hear-x86.jsonl" | hear_fields > "$OUT/hear-x86.txt"
        step "coach hear on the same recordings: arm64 ($CPU)"
        inside "./scripts/run.sh hear ${inner[*]} --expect reps" 2>"$OUT/hear-arm64.err" \
            | tee "$OUT/hear-arm64.jsonl" | hear_fields > "$OUT/hear-arm64.txt"
        compare_hearing "$(inside ".venv/bin/python -c 'from coach.hearing.whisper_engine import WhisperSettings as W; print(W().min_confidence)'")" \
            > "$OUT/hear.txt"
        grep -v '^RESULT' "$OUT/hear.txt" >&2
        read -r _ agree total gap < <(grep '^RESULT' "$OUT/hear.txt")
    elif [ ! -f "$REALDEV/manifest.tsv" ]; then
        step "no realdev recordings at $REALDEV: hear not compared (fix: put the shared data next to the project or set COACH_SHARED_DIR)"
    fi

    # 4. coach say: live on the virtual card and into a file
    if [ $setup = ok ]; then
        step "coach say"
        if inside "$card_env ./scripts/run.sh say 'Three sets of ten. Ready?' && ./scripts/run.sh say 'Twelve reps, right?' --out /tmp/say.wav && test \$(stat -c %s /tmp/say.wav) -gt 20000" \
                > "$OUT/say.log" 2>&1; then
            say=ok
        else
            tail -5 "$OUT/say.log" >&2
        fi
    fi

    # 5. the pure and the recorded-digit tests, with the README's test command
    if [ $setup = ok ]; then
        step "tests: the pure ones and the recorded-digit ones (./scripts/test.sh)"
        inside "$card_env ./scripts/test.sh -q -p no:cacheprovider -m 'not audio and not slow' $PURE_TESTS $DIGIT_TESTS" \
            > "$OUT/tests.log" 2>&1
        tail -3 "$OUT/tests.log" >&2
        local summary
        summary="$(grep -E '^[=]* ?[0-9]+ (passed|failed|error)' "$OUT/tests.log" | tail -1)"
        passed="$(echo "$summary" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+' || echo 0)"
        failed=$(( $(echo "$summary" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+' || echo 0) \
                 + $(echo "$summary" | grep -oE '[0-9]+ errors?' | grep -oE '[0-9]+' || echo 0) ))
        [ -n "$passed" ] || passed=0
    fi

    step "done in $((SECONDS - began)) s under emulation (timings say nothing about a Pi); outputs in $OUT"
    summary_line
    [ $setup = ok ] && [ $say = ok ] && [ "$total" -gt 0 ] && [ "$agree" = "$total" ] \
        && [ "$failed" = 0 ] && [ "$passed" -gt 0 ]
}

main
