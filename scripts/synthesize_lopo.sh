#!/usr/bin/env bash
# Leave-one-patient-out agreement of a flair-t1-t2 training recipe with the real FLAIR of the
# raw shared patients 03 and 04 (docs/synthesize.md): train without patient03 and without
# patient04, export each, and score `msgan synthesize` on the patient it did not see with
# scripts/evaluate_synthesize_raw.py. Every row of docs/synthesize.md's recipe table is one run.
#
#   bash scripts/synthesize_lopo.sh --work DIR [--shards DIR] [--pretrain-sim] [--only PATIENT] [-- TRAIN ARGS...]
#
# --shards DIR     T1,T2 -> FLAIR shards of the four patients (default: built in WORK/template by
#                  scripts/prepare_raw_sessions.py, all four at the template's scale)
# --pretrain-sim   first train on a domain-randomised simulated cohort (msgan simulate --randomize,
#                  12 MS + 4 HC, 1 mm, seed 0; same steps), then start every fold from it
#                  (msgan train --init-weights); the simulation-only model is scored too
# --only PATIENT   one fold: train without PATIENT (patient03 or patient04) and score it alone
# TRAIN ARGS       appended to every `msgan train` (e.g. --loss mse+grad, --epochs 6)
#
# Default recipe (the shipped flair-t1-t2's): unet_small, --preset real-flair, 4500 steps (--epochs 45),
# seed 0; `-- --epochs 15` gives the 1500 steps of the earlier rows.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=""; SHARDS=""; PRETRAIN=0; FOLDS=(patient03 patient04)
while [ $# -gt 0 ]; do
  case "$1" in
    --work) WORK=$2; shift 2 ;;
    --shards) SHARDS=$2; shift 2 ;;
    --pretrain-sim) PRETRAIN=1; shift ;;
    --only) FOLDS=("$2"); shift 2 ;;
    --) shift; break ;;
    *) echo "usage: $0 --work DIR [--shards DIR] [--pretrain-sim] [--only PATIENT] [-- TRAIN ARGS...]" >&2; exit 2 ;;
  esac
done
[ -n "$WORK" ] || { echo "$0: --work DIR is required" >&2; exit 2; }
case "$WORK" in /*) ;; *) WORK="$PWD/$WORK" ;; esac
cd "$REPO"
MSGAN="${MSGAN:-msgan}"
DATA="${OPEN_MS_DATA:-$REPO/../shared/data/open_ms_data}"
[ -d "$DATA" ] || { echo "$0: $DATA not found (set OPEN_MS_DATA)" >&2; exit 2; }
export TF_DETERMINISTIC_OPS=1 PYTHONHASHSEED=0
RECIPE=(--model unet_small --preset real-flair --epochs 45 --seed 0 --overwrite --no-progress)

if [ -z "$SHARDS" ]; then
  SHARDS="$WORK/template/shards"
  # deepbrain's TF1 graph holds an unseeded random op: it cannot run under TF_DETERMINISTIC_OPS
  [ -f "$WORK/template/raw-mni/manifest.csv" ] || PYTHONPATH="$REPO" env -u TF_DETERMINISTIC_OPS \
    python scripts/prepare_raw_sessions.py --data "$DATA" --out "$WORK/template/raw-mni" --brain-extractor deepbrain
  [ -d "$SHARDS" ] || $MSGAN make-tfrecords --manifest "$WORK/template/raw-mni/manifest.csv" \
    --task flair --inputs T1,T2 --preset real-flair --out "$SHARDS"
fi

evaluate() {  # $1: output folder, then PATIENT=SAVEDMODEL pairs
  local out=$1; shift
  local models=(); for pair in "$@"; do models+=(--model "$pair"); done
  PYTHONPATH="$REPO" env -u TF_DETERMINISTIC_OPS python scripts/evaluate_synthesize_raw.py --data "$DATA" \
    --brain-extractor deepbrain "${models[@]}" --out "$out"
}

INIT=()
if [ "$PRETRAIN" = 1 ]; then
  SIM="$WORK/sim"
  [ -d "$SIM/cohort" ] || $MSGAN simulate --out "$SIM/cohort" --randomize --n-ms 12 --n-hc 4 --resolution 1 \
    --seed 0 --sessions t0
  [ -d "$SIM/shards" ] || $MSGAN make-tfrecords --cohort "$SIM/cohort" --task flair --inputs T1,T2 \
    --target FLAIR --preset real-flair --out "$SIM/shards"
  start=$(date +%s)
  $MSGAN train --data "$SIM/shards" --run "$SIM/pretrain" "${RECIPE[@]}" "$@"
  echo "pretrain: $(( $(date +%s) - start )) s"
  $MSGAN export --run "$SIM/pretrain" --out "$SIM/sim-only/1" --space mni152 --overwrite \
    --note "simulation only (randomised), flair-t1-t2's recipe"
  evaluate "$WORK/eval-sim-only" "${FOLDS[@]/%/=$SIM/sim-only/1}"
  INIT=(--init-weights "$SIM/pretrain")
fi

SCORED=()
for left_out in "${FOLDS[@]}"; do
  start=$(date +%s)
  $MSGAN train --data "$SHARDS" --run "$WORK/run-no-$left_out" --exclude-subjects "$left_out" \
    "${RECIPE[@]}" "${INIT[@]}" "$@"
  echo "without $left_out: $(( $(date +%s) - start )) s"
  $MSGAN export --run "$WORK/run-no-$left_out" --out "$WORK/no-$left_out/1" --space mni152 --overwrite \
    --note "flair-t1-t2's recipe without $left_out (leave-one-patient-out)"
  SCORED+=("$left_out=$WORK/no-$left_out/1")
done
evaluate "$WORK/eval" "${SCORED[@]}"
