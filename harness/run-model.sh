#!/usr/bin/env bash
# run-model.sh - build a tmlc-generated model (model.c + model.h) into a host
# program or Cortex-M4 firmware, run it on one input file, and copy the output.
#
# usage: harness/run-model.sh MODEL_C_DIR NAME IN.bin OUT.bin [host|m4|m4big] [--count] [--verbose]
#
#   MODEL_C_DIR  directory holding model.c and model.h
#   NAME         the model's C prefix (NAME_invoke, NAME_NUM_INPUTS, ...)
#   IN.bin       all inputs concatenated, or several such samples one after
#                another (each is run in turn); OUT.bin receives all outputs,
#                per sample
#   host         gcc, run natively (default)
#   m4           arm-none-eabi-gcc with m4/m4.ld (1 MiB flash, 256 KiB RAM),
#                run on qemu-system-arm -M mps2-an386
#   m4big        the same with m4/m4_big.ld (4 MiB flash, 4 MiB RAM)
#   --count      (m4/m4big) build INVOKES=1 and INVOKES=2 firmware, run both
#                under the instruction-counting plugin and print, on stdout:
#                  insns_per_inference=N   (N = count2 - count1 - 6, see README)
#                  insns_invokes1=N1 insns_invokes2=N2
#                  flash=F ram=R
#                  text=.. rodata=.. exidx=.. data=.. bss=.. io_buffers=.. stack_used=.. stack_reserved=..
#   --verbose    print each build/run command and its wall time on stderr
#
# Everything is built in a fresh mktemp directory that is removed afterwards
# (set TMLC_KEEP_TMP=1 to keep it); nothing is written anywhere but there and
# OUT.bin.
#
# Exit status: 0 ok; otherwise the model program's own code
#   (1 I/O, 2 input size mismatch, 3 NAME_invoke failed, 4 guard zone
#   overwritten, 5 M4 stack exhausted, 99 M4 fault, 124 timeout),
#   or 64 bad usage / missing file or tool, 65 build failed,
#   66 INVOKES=1 and INVOKES=2 runs disagree.
#
# Environment: CC (default gcc), ARM_CC (arm-none-eabi-gcc), ARM_SIZE
# (arm-none-eabi-size), QEMU (qemu-system-arm), TMLC_TIMEOUT (seconds per
# run, default 600), TMLC_STACK_SIZE (bytes, overrides the linker script's
# default), TMLC_INSNCOUNT_SO (a prebuilt harness/qemu/insncount.c plugin),
# TMLC_HOST_CFLAGS / TMLC_ARM_CFLAGS (extra compiler flags, appended, e.g.
# "-fsanitize=address,undefined" or "-ffp-contract=fast"), TMLC_KEEP_TMP=1.
set -euo pipefail

HARNESS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROG=run-model.sh

CC=${CC:-gcc}
ARM_CC=${ARM_CC:-arm-none-eabi-gcc}
ARM_SIZE=${ARM_SIZE:-arm-none-eabi-size}
ARM_NM=${ARM_NM:-arm-none-eabi-nm}
QEMU=${QEMU:-qemu-system-arm}
TIMEOUT=${TMLC_TIMEOUT:-600}

# Fixed per-call overhead of tmlc_invoke_loop in m4/main.c (mov, mov, blx, cbnz, subs, bne).
LOOP_OVERHEAD=6

die() { # die CODE MESSAGE...
    local code=$1
    shift
    echo "$PROG: error: $*" >&2
    exit "$code"
}
usage() {
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
    exit 64
}

# ---- arguments ---------------------------------------------------------
positional=()
target=host
count=0
verbose=0
for arg in "$@"; do
    case $arg in
    host | m4 | m4big) target=$arg ;;
    --count) count=1 ;;
    --verbose | -v) verbose=1 ;;
    -h | --help) usage ;;
    -*) die 64 "unknown option '$arg' (see --help)" ;;
    *) positional+=("$arg") ;;
    esac
done
[[ ${#positional[@]} -eq 4 ]] || {
    echo "$PROG: error: expected MODEL_C_DIR NAME IN.bin OUT.bin, got ${#positional[@]} arguments" >&2
    usage
}
model_dir=${positional[0]}
name=${positional[1]}
in_file=${positional[2]}
out_file=${positional[3]}

[[ -d $model_dir ]] || die 64 "model directory '$model_dir' does not exist"
[[ -f $model_dir/model.c ]] || die 64 "'$model_dir/model.c' not found"
[[ -f $model_dir/model.h ]] || die 64 "'$model_dir/model.h' not found"
[[ $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die 64 "model name '$name' is not a C identifier"
[[ -f $in_file && -r $in_file ]] || die 64 "input file '$in_file' not found or unreadable"
out_parent=$(dirname -- "$out_file")
[[ -d $out_parent ]] || die 64 "output directory '$out_parent' does not exist"
[[ $count -eq 0 || $target != host ]] || die 64 "--count needs target m4 or m4big"
[[ $TIMEOUT =~ ^[0-9]+$ ]] || die 64 "TMLC_TIMEOUT must be a number of seconds"

model_dir=$(cd "$model_dir" && pwd)

need_tool() { command -v "$1" >/dev/null 2>&1 || die 64 "'$1' not found in PATH ($2)"; }
need_tool timeout "coreutils"
if [[ $target == host ]]; then
    need_tool "$CC" "host C compiler; set CC"
else
    need_tool "$ARM_CC" "apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi"
    need_tool "$QEMU" "apt-get install qemu-system-arm"
    if [[ $count -eq 1 ]]; then
        need_tool "$ARM_SIZE" "binutils-arm-none-eabi"
        need_tool "$ARM_NM" "binutils-arm-none-eabi"
        [[ -n ${TMLC_INSNCOUNT_SO:-} ]] || need_tool "$CC" "host C compiler for the plugin; set CC"
    fi
fi

# ---- scratch directory -------------------------------------------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tmlc-run.XXXXXX")
if [[ ${TMLC_KEEP_TMP:-0} == 1 ]]; then
    echo "$PROG: keeping build directory $tmp" >&2
else
    trap 'rm -rf -- "$tmp"' EXIT
fi

# run_logged LABEL CMD... : run a command, timing it when --verbose.
run_logged() {
    local label=$1 start ms rc=0
    shift
    if [[ $verbose -eq 1 ]]; then
        printf '%s: [%s] %s\n' "$PROG" "$label" "$*" >&2
        start=$(date +%s%N)
    fi
    "$@" || rc=$?
    if [[ $verbose -eq 1 ]]; then
        ms=$((($(date +%s%N) - start) / 1000000))
        printf '%s: [%s] %d.%03d s, exit %d\n' "$PROG" "$label" $((ms / 1000)) $((ms % 1000)) "$rc" >&2
    fi
    return "$rc"
}

explain_rc() { # human-readable meaning of a harness exit code
    case $1 in
    1) echo "I/O error, or QEMU itself failed (see its message above)" ;;
    2) echo "input file size does not match the model's inputs" ;;
    3) echo "${name}_invoke returned non-zero" ;;
    4) echo "the model wrote past the end of an input/output buffer" ;;
    5) echo "the firmware used its whole reserved stack" ;;
    99) echo "the firmware faulted (see the fault report above)" ;;
    124) echo "timed out after ${TIMEOUT}s (TMLC_TIMEOUT)" ;;
    *) echo "unexpected exit code" ;;
    esac
}

# ---- host ----------------------------------------------------------------
if [[ $target == host ]]; then
    read -r -a extra_host <<<"${TMLC_HOST_CFLAGS:-}"
    run_logged "host build" "$CC" -O2 -std=c11 -Wall -Wextra -Werror ${extra_host[@]+"${extra_host[@]}"} \
        "-DTMLC_MODEL=$name" \
        -include "$model_dir/model.h" "$HARNESS_DIR/host_main.c" "$model_dir/model.c" -lm \
        -o "$tmp/run" || die 65 "host build failed"
    rc=0
    run_logged "host run" timeout --kill-after=5 "$TIMEOUT" "$tmp/run" "$in_file" "$tmp/out.bin" || rc=$?
    [[ $rc -eq 0 ]] || die "$rc" "host run failed with exit code $rc: $(explain_rc "$rc")"
    cp -- "$tmp/out.bin" "$out_file"
    exit 0
fi

# ---- Cortex-M4 build -------------------------------------------------------
if [[ $target == m4 ]]; then ldscript=$HARNESS_DIR/m4/m4.ld; else ldscript=$HARNESS_DIR/m4/m4_big.ld; fi
# -std=c11 as on the host: it also implies -ffp-contract=off (GCC's GNU modes
# default to =fast, which fuses a*b+c into vfma on the M4 and makes float
# results differ from the host's); -ffp-contract=off states it explicitly.
ARM_FLAGS=(-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -O2
    -ffunction-sections -fdata-sections -std=c11 -ffp-contract=off -Wall -Wextra -Werror)
read -r -a extra_arm <<<"${TMLC_ARM_CFLAGS:-}"
ARM_FLAGS+=(${extra_arm[@]+"${extra_arm[@]}"})
MAIN_FLAGS=("-DTMLC_MODEL=$name" -include "$model_dir/model.h" '-DIN_FILE="in.bin"' '-DOUT_FILE="out.bin"')
LINK_FLAGS=(-nostartfiles --specs=nano.specs -T "$ldscript" -Wl,--gc-sections)
if [[ -n ${TMLC_STACK_SIZE:-} ]]; then
    [[ $TMLC_STACK_SIZE =~ ^[0-9]+$ ]] || die 64 "TMLC_STACK_SIZE must be a number of bytes"
    LINK_FLAGS+=("-Wl,--defsym=__stack_size=$TMLC_STACK_SIZE")
fi
if [[ $count -eq 1 ]]; then invokes_list=(1 2); else invokes_list=(1); fi

# model.c is by far the largest compile (weights); run it in the background
# while the harness objects and the plugin are built.
run_logged "m4 model.c" "$ARM_CC" "${ARM_FLAGS[@]}" -c "$model_dir/model.c" -o "$tmp/model.o" \
    >"$tmp/model.log" 2>&1 &
model_pid=$!

build_ok=1
for src in startup.c semihost.c; do
    run_logged "m4 $src" "$ARM_CC" "${ARM_FLAGS[@]}" -c "$HARNESS_DIR/m4/$src" -o "$tmp/${src%.*}.o" ||
        build_ok=0
done
for n in "${invokes_list[@]}"; do
    run_logged "m4 main.c INVOKES=$n" "$ARM_CC" "${ARM_FLAGS[@]}" "${MAIN_FLAGS[@]}" "-DINVOKES=$n" \
        -c "$HARNESS_DIR/m4/main.c" -o "$tmp/main$n.o" || build_ok=0
done
plugin=
if [[ $count -eq 1 ]]; then
    if [[ -n ${TMLC_INSNCOUNT_SO:-} ]]; then
        [[ -f $TMLC_INSNCOUNT_SO ]] || die 64 "TMLC_INSNCOUNT_SO='$TMLC_INSNCOUNT_SO' not found"
        plugin=$(cd "$(dirname -- "$TMLC_INSNCOUNT_SO")" && pwd)/$(basename -- "$TMLC_INSNCOUNT_SO")
    else
        plugin=$tmp/insncount.so
        run_logged "plugin" "$CC" -O2 -shared -fPIC -fvisibility=hidden -Wall -Wextra -Werror \
            -o "$plugin" "$HARNESS_DIR/qemu/insncount.c" || build_ok=0
    fi
fi
model_rc=0
wait "$model_pid" || model_rc=$?
cat "$tmp/model.log" >&2
[[ $model_rc -eq 0 ]] || die 65 "arm-none-eabi-gcc failed on $model_dir/model.c"
[[ $build_ok -eq 1 ]] || die 65 "building the M4 harness failed"

for n in "${invokes_list[@]}"; do
    run_logged "m4 link INVOKES=$n" "$ARM_CC" "${ARM_FLAGS[@]}" "${LINK_FLAGS[@]}" \
        "-Wl,-Map=$tmp/fw$n.map" "$tmp/startup.o" "$tmp/semihost.o" \
        "$tmp/main$n.o" "$tmp/model.o" -lm -o "$tmp/fw$n.elf" || die 65 "linking the M4 firmware failed"
done

# Section sizes (both firmwares differ only in one immediate; use fw1).
# flash = .text + .rodata + .ARM.exidx + .data;  static RAM = .data + .bss.
# Any other non-empty section (besides comments, attributes and debug info)
# is one the linker scripts do not place: ld puts such "orphans" somewhere on
# its own, e.g. writable data into RAM without a flash copy, so it would run
# uninitialised.  Refuse to run such firmware.
command -v "$ARM_SIZE" >/dev/null 2>&1 || die 64 "'$ARM_SIZE' not found in PATH (binutils-arm-none-eabi)"
sizes=$("$ARM_SIZE" -A -d "$tmp/fw1.elf" | awk '
    $1 == ".text" { t = $2 } $1 == ".rodata" { r = $2 } $1 == ".ARM.exidx" { x = $2 }
    $1 == ".data" { d = $2 } $1 == ".bss" { b = $2 }
    $1 ~ /^\./ && $1 !~ /^\.(text|rodata|ARM\.exidx|data|bss|init_array|comment|ARM\.attributes|debug.*)$/ && $2 > 0 {
        orphans = orphans " " $1 "(" $2 " bytes)" }
    END { printf "%d %d %d %d %d%s\n", t, r, x, d, b, orphans }')
read -r s_text s_rodata s_exidx s_data s_bss orphans <<<"$sizes"
[[ -z $orphans ]] || die 65 "section(s) not placed by $(basename "$ldscript"):$orphans;" \
    "put the data in .text/.rodata/.data/.bss input sections"

# ---- Cortex-M4 run -----------------------------------------------------------
# run_fw N: run fw$N.elf in $tmp/run$N (QEMU's cwd, where the semihosting
# paths in.bin/out.bin resolve).  Console (QEMU stderr) -> run$N/console.txt,
# exit code -> run$N/rc, instruction count -> run$N/count.txt.
run_fw() {
    local n=$1 dir=$tmp/run$1 rc=0
    local qemu_cmd=("$QEMU" -M mps2-an386 -display none -monitor none -serial none
        -semihosting-config enable=on,target=native)
    [[ -z $plugin ]] || qemu_cmd+=(-plugin "$plugin,outfile=$dir/count.txt")
    qemu_cmd+=(-kernel "$tmp/fw$n.elf")
    mkdir -p "$dir"
    cp -- "$in_file" "$dir/in.bin"
    (cd "$dir" && run_logged "qemu INVOKES=$n" timeout --kill-after=5 "$TIMEOUT" \
        "${qemu_cmd[@]}" </dev/null >"$dir/qemu.stdout" 2>"$dir/console.txt") || rc=$?
    echo "$rc" >"$dir/rc"
}

# Both runs are independent; on a multi-core machine run them side by side.
pids=()
for n in "${invokes_list[@]}"; do
    run_fw "$n" &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || die 1 "could not prepare a QEMU run in $tmp"; done

for n in "${invokes_list[@]}"; do
    dir=$tmp/run$n
    rc=$(cat "$dir/rc")
    # Pass the firmware's console through, except the stack report we parse.
    grep -v '^tmlc-m4: stack_used=' "$dir/console.txt" >&2 || true
    cat "$dir/qemu.stdout" >&2
    [[ $rc -eq 0 ]] || die "$rc" "M4 run (INVOKES=$n) failed with exit code $rc: $(explain_rc "$rc")"
    [[ -f $dir/out.bin ]] || die 1 "M4 run (INVOKES=$n) exited 0 but wrote no out.bin"
done
cp -- "$tmp/run1/out.bin" "$out_file"
[[ $count -eq 1 ]] || exit 0

# ---- counts and sizes ----------------------------------------------------------
cmp -s "$tmp/run1/out.bin" "$tmp/run2/out.bin" ||
    die 66 "outputs after 1 and 2 invocations differ: the model keeps state between calls"
read_count() {
    local f=$tmp/run$1/count.txt v
    [[ -f $f ]] || die 1 "the instruction-count plugin wrote no $f"
    v=$(sed -n 's/^insns: \([0-9][0-9]*\)$/\1/p' "$f")
    [[ -n $v ]] || die 1 "cannot parse $f: $(cat "$f")"
    echo "$v"
}
n1=$(read_count 1)
n2=$(read_count 2)
per=$((n2 - n1 - LOOP_OVERHEAD))
[[ $per -ge 0 ]] || die 1 "instruction counts make no sense: INVOKES=1 $n1, INVOKES=2 $n2"

# The harness's own I/O buffers (tmlc_in0.., tmlc_out0.., guard zones included)
# are part of .bss; reported separately because TFLM keeps I/O in its arena.
io_bytes=$("$ARM_NM" -S -t d "$tmp/fw1.elf" | awk '$4 ~ /^tmlc_(in|out)[0-7]$/ { s += $2 } END { print s + 0 }')
stack_used=$(sed -n 's/^tmlc-m4: stack_used=\([0-9]*\) of \([0-9]*\)$/\1/p' "$tmp/run1/console.txt")
stack_reserved=$(sed -n 's/^tmlc-m4: stack_used=\([0-9]*\) of \([0-9]*\)$/\2/p' "$tmp/run1/console.txt")

echo "insns_per_inference=$per"
echo "insns_invokes1=$n1 insns_invokes2=$n2"
echo "flash=$((s_text + s_rodata + s_exidx + s_data)) ram=$((s_data + s_bss))"
echo "text=$s_text rodata=$s_rodata exidx=$s_exidx data=$s_data bss=$s_bss io_buffers=$io_bytes" \
    "stack_used=${stack_used:-?} stack_reserved=${stack_reserved:-?}"
