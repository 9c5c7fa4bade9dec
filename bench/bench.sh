#!/usr/bin/env bash
# bench/bench.sh — compile each core TFLite model with tmlc, build it for the
# emulated Cortex-M4 (qemu mps2-an386) and print, one row per model: flash
# (text+rodata+exidx+data), static RAM (data+bss), tmlc's arena, instructions
# per inference (INVOKES=2 minus INVOKES=1, see harness/README.md), tmlc
# compile time; the model's input+output bytes (tmlc reads/writes them in the
# caller's buffers, TFLite Micro keeps them inside its arena); next to TFLite Micro + CMSIS-NN's figures for the same model
# and board, with the ratio tmlc / TFLM.
#
# usage: bench/bench.sh [MODEL_STEM...]      (default: the core set)
# Needs ../shared beside the repository, gcc-arm-none-eabi, qemu-system-arm.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
models_dir="$repo/../shared/models/tflite-micro"
[[ -d $models_dir ]] || { echo "bench: $models_dir not found" >&2; exit 1; }

# TFLite Micro + CMSIS-NN on the same emulated board, from
# ../shared/notes/baseline-tflm.md ("Instructions per inference" and
# "Memory"): insns, flash total, static RAM, smallest arena (bytes).
declare -A TFLM_INSNS=(
  [hello_world_int8]=3518 [micro_speech_quantized]=1494767 [person_detect]=22928384
  [mobilenet_v2_quantized_1x3x224x224]=798472709 [simple_add_model]=1336230)
declare -A TFLM_FLASH=(
  [hello_world_int8]=38240 [micro_speech_quantized]=80428 [person_detect]=375120
  [mobilenet_v2_quantized_1x3x224x224]=4079080 [simple_add_model]=30864)
declare -A TFLM_RAM=(
  [hello_world_int8]=1176 [micro_speech_quantized]=6960 [person_detect]=82432
  [mobilenet_v2_quantized_1x3x224x224]=2600616 [simple_add_model]=49624)
declare -A TFLM_ARENA=(
  [hello_world_int8]=1156 [micro_speech_quantized]=6836 [person_detect]=82316
  [mobilenet_v2_quantized_1x3x224x224]=2600596 [simple_add_model]=49608)

models=("$@")
[[ ${#models[@]} -gt 0 ]] || models=(hello_world_int8 hello_world_float simple_add_model
  micro_speech_quantized person_detect mobilenet_v2_quantized_1x3x224x224)

cargo build --release -q -p tmlc --manifest-path "$repo/Cargo.toml"
tmlc="$repo/target/release/tmlc"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

ratio() { [[ -n ${2:-} ]] && awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}' || echo "-"; }

printf '| model | tmlc insns | TFLM insns | ratio | tmlc flash | TFLM flash | ratio | tmlc RAM | TFLM RAM | tmlc arena | tmlc I/O | TFLM arena | compile s |\n'
printf '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n'
for m in "${models[@]}"; do
  d="$work/$m"; mkdir -p "$d"
  t0=$(date +%s.%N)
  "$tmlc" "$models_dir/$m.tflite" -o "$d/model.c" --name "$m" >/dev/null
  t1=$(date +%s.%N)
  arena=$(awk -v k="${m}_ARENA_BYTES" '$1=="#define" && $2==k {print $3}' "$d/model.h")
  target=m4
  [[ $m == mobilenet_v2* ]] && target=m4big
  out=$("$repo/harness/run-model.sh" "$d" "$m" "$models_dir/$m.in0.bin" "$d/out.bin" "$target" --count)
  cmp -s "$d/out.bin" "$models_dir/$m.out0.bin" && ok="" || ok=" (output differs!)"
  insns=$(sed -n 's/^insns_per_inference=//p' <<<"$out")
  flash=$(sed -n 's/^flash=\([0-9]*\) .*/\1/p' <<<"$out")
  ram=$(sed -n 's/.*ram=\([0-9]*\).*/\1/p' <<<"$out" | head -1)
  io=$(sed -n 's/.*io_buffers=\([0-9]*\).*/\1/p' <<<"$out")
  ram=$((ram - io))   # the harness's own I/O buffers are not the model's
  io_model=$(awk -v p="${m}_" '$1=="#define" && index($2, p)==1 && $2 ~ /_(INPUT|OUTPUT)[0-9]+_BYTES$/ {s+=$3} END{print s+0}' "$d/model.h")
  printf '| %s%s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %.2f |\n' "$m" "$ok" \
    "$insns" "${TFLM_INSNS[$m]:--}" "$(ratio "$insns" "${TFLM_INSNS[$m]:-}")" \
    "$flash" "${TFLM_FLASH[$m]:--}" "$(ratio "$flash" "${TFLM_FLASH[$m]:-}")" \
    "$ram" "${TFLM_RAM[$m]:--}" "$arena" "$io_model" "${TFLM_ARENA[$m]:--}" \
    "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')"
done
