#!/usr/bin/env bash
# Rebuild the trained models that ship in msgan/saved_models/ (README, "Models that ship"),
# deterministically: fixed seeds, deterministic TensorFlow ops, one thread order.
#
#   bash scripts/train_shipped_models.sh [pib] [flair] [--work DIR]
#
# pib:   pib-mtr-fa-rd-ad, Sketcher-Refiner CF-SAGANs (4 base filters) trained on the
#        simulated cohort (18 MS + 10 HC, 2 mm, baseline visit, 32^3 patches; 3 subjects
#        validate). Its model card says first that the training data are simulated.
# flair: flair-t1-t2-t1post, FLAIR from T1, T2, T1POST trained on the two real patients of
#        ../shared/data/open_ms_data with the real-FLAIR recipe (README, "FLAIR on real patients").
# flair-t1-t2: FLAIR from T1 and T2 (no contrast agent), same recipe, trained on every real
#        session with T1, T2 and FLAIR: MNI patients 07 and 19 and the raw sessions of patients
#        03 and 04 brought into MNI152 by msgan synthesize's own chain
#        (scripts/prepare_raw_sessions.py); its model card names the space (mni152).
# flair-t1-t2-lopo: the same recipe without patient03 and without patient04, exported under
#        WORK/flair-t1-t2/no-patientNN/1 and scored by scripts/evaluate_synthesize_raw.py
#        (scripts/synthesize_lopo.sh; docs/synthesize.md).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=shipped_models_work
WHICH=()
USAGE="usage: $0 [pib] [flair] [flair-t1-t2] [flair-t1-t2-lopo] [--work DIR]"
while [ $# -gt 0 ]; do
  case "$1" in
    pib|flair|flair-t1-t2|flair-t1-t2-lopo) WHICH+=("$1"); shift ;;
    --work) WORK=$2; shift 2 ;;
    *) echo "$USAGE" >&2; exit 2 ;;
  esac
done
[ ${#WHICH[@]} -gt 0 ] || WHICH=(pib flair)
case "$WORK" in /*) ;; *) WORK="$PWD/$WORK" ;; esac
cd "$REPO"
MSGAN="${MSGAN:-msgan}"
export TF_DETERMINISTIC_OPS=1 PYTHONHASHSEED=0
DATA="${OPEN_MS_DATA:-$REPO/../shared/data/open_ms_data}"

t1_t2_shards() {  # $1: the --mni-patients of prepare_raw_sessions (template|as-published)
  # the raw sessions in MNI152 and the shards of all four patients (T1, T2 -> FLAIR), in WORK/flair-t1-t2/$1
  [ -d "$DATA" ] || { echo "flair-t1-t2: $DATA not found (set OPEN_MS_DATA)" >&2; exit 2; }
  local dir="$WORK/flair-t1-t2/$1"
  # deepbrain's TF1 graph holds an unseeded random op: it cannot run under TF_DETERMINISTIC_OPS
  [ -f "$dir/raw-mni/manifest.csv" ] || PYTHONPATH="$REPO" env -u TF_DETERMINISTIC_OPS \
    python scripts/prepare_raw_sessions.py --data "$DATA" --out "$dir/raw-mni" --brain-extractor deepbrain --mni-patients "$1"
  [ -d "$dir/shards" ] || $MSGAN make-tfrecords --manifest "$dir/raw-mni/manifest.csv" \
    --task flair --inputs T1,T2 --preset real-flair --out "$dir/shards"
}
T1_T2_NOTE="Trained on four real MS patients of one site (open_ms_data, Ljubljana), 4500 steps: patients 07 and 19 (published in MNI space) and the raw sessions of patients 03 and 04, all four brought onto MNI152 at the template's scale by msgan synthesize's chain (deepbrain brain masks). The same recipe scored leave-one-patient-out on the raw patients 03 and 04 (docs/synthesize.md): r 0.764 and 0.769, scale-free SSIM of the brain-extracted images 0.807 and 0.830. A research tool, not a clinical model."

for which in "${WHICH[@]}"; do
  case "$which" in
  pib)
    NAME=pib-mtr-fa-rd-ad
    [ -d "$WORK/pib/cohort" ] || $MSGAN simulate --out "$WORK/pib/cohort" --n-ms 18 --n-hc 10 \
      --resolution 2 --seed 0 --sessions t0
    [ -d "$WORK/pib/shards" ] || $MSGAN make-tfrecords --cohort "$WORK/pib/cohort" --task myelin \
      --patch 32 --overlap 0 --out "$WORK/pib/shards"
    $MSGAN train --model refiner_cfsagan --data "$WORK/pib/shards" --run "$WORK/pib/run" \
      --val-subjects ms16,ms17,hc10 --epochs 10 --steps-per-epoch 60 --batch 4 --lr 2e-4 --refiner-lr 1e-4 \
      --model-kwargs '{"generator_kwargs": {"base_filters": 4}, "discriminator_kwargs": {"base_filters": 4, "patch_size": 16}}' \
      --seed 0 --overwrite --no-progress
    $MSGAN export --run "$WORK/pib/run" --out "msgan/saved_models/$NAME/1" --overwrite \
      --note "SIMULATED training data: trained on msgan's simulated cohort (msgan simulate --seed 0, 2 mm), never on real PET; a demonstration of the method, not a clinical model."
    ;;
  flair)
    # every session of both real patients trains (there is no third one to validate on:
    # scripts/benchmark_real_flair.py measures the same recipe leave-one-patient-out)
    NAME=flair-t1-t2-t1post
    DATA="${OPEN_MS_DATA:-$REPO/../shared/data/open_ms_data}"
    [ -d "$DATA" ] || { echo "flair: $DATA not found (set OPEN_MS_DATA)" >&2; exit 2; }
    [ -d "$WORK/flair/shards" ] || $MSGAN make-tfrecords --manifest examples/open_ms_data.csv --root "$DATA" \
      --task flair --inputs T1,T2,T1POST --preset real-flair --out "$WORK/flair/shards"
    $MSGAN train --model unet_small --data "$WORK/flair/shards" --run "$WORK/flair/run" --preset real-flair \
      --seed 0 --overwrite --no-progress
    $MSGAN export --run "$WORK/flair/run" --out "msgan/saved_models/$NAME/1" --overwrite \
      --note "Trained on two real MS patients only (open_ms_data patient07 and patient19, Ljubljana: one site, skull-stripped, N4-corrected, registered to MNI at 1 mm); never validated on a patient it did not train on (the same recipe, leave-one-patient-out: README, 'FLAIR on real patients'). A research tool, not a clinical model."
    ;;
  flair-t1-t2)
    # all four patients at the template's scale, 4500 steps: the recipe flair-t1-t2-lopo measures
    t1_t2_shards template
    $MSGAN train --model unet_small --data "$WORK/flair-t1-t2/template/shards" --run "$WORK/flair-t1-t2/run" \
      --preset real-flair --epochs 45 --seed 0 --overwrite --no-progress
    $MSGAN export --run "$WORK/flair-t1-t2/run" --out "msgan/saved_models/flair-t1-t2/1" --space mni152 --overwrite \
      --note "$T1_T2_NOTE"
    ;;
  flair-t1-t2-lopo)
    t1_t2_shards template
    bash scripts/synthesize_lopo.sh --work "$WORK/flair-t1-t2" --shards "$WORK/flair-t1-t2/template/shards"
    ;;
  esac
done
