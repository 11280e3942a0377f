#!/usr/bin/env bash
# Chapters 3-4 on the full simulated cohort (18 MS + 10 HC, 1 mm, two visits for patients):
# 3-fold subject-level cross-validation of dnn2, unet, cgan, sketcher_refiner, cfsagan and
# refiner_cfsagan with L1, WL1 (eq. 3.5) and NWL1 (eq. 4.4) where the thesis compares them,
# trained on the baseline visit (t0) and applied to both visits, then every table and figure
# of chapters 3-4 through `msgan evaluate`, and attention saliency maps (Fig. 3.9).
#
#   bash scripts/reproduce_myelin.sh [--epochs N] [--out DIR] [--augment]
#                                    [--resolution MM] [--n-ms N] [--n-hc N] [--patch N]
#                                    [--check]
#
# --check runs every step of the script on a toy version (4 mm, 6 MS + 3 HC, 32^3 patches,
# networks with 4 base filters, 1 epoch) in 15 minutes on two cores (measured: 905 s): it
# shows the script works end to end, its numbers mean nothing.
#
# Without --epochs the thesis's lengths are used (400 + 400 epochs for the ch. 3 GANs,
# 370 + 370 for the CF-SAGANs): on a GPU that is the thesis's experiment; on the 2-core CPU
# it takes weeks, so pass --epochs (the script prints its estimate first).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
EPOCHS=""
OUT=reproduce_myelin
AUGMENT=""
RESOLUTION=1
N_MS=18
N_HC=10
PATCH=64
CHECK=""
USAGE="usage: $0 [--epochs N] [--out DIR] [--augment] [--resolution MM] [--n-ms N] [--n-hc N] [--patch N] [--check]"
while [ $# -gt 0 ]; do
  case "$1" in
    --epochs) EPOCHS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --augment) AUGMENT="--augment"; shift ;;
    --resolution) RESOLUTION=$2; shift 2 ;;
    --n-ms) N_MS=$2; shift 2 ;;
    --n-hc) N_HC=$2; shift 2 ;;
    --patch) PATCH=$2; shift 2 ;;
    --check) CHECK=1; RESOLUTION=4; N_MS=6; N_HC=3; PATCH=32; EPOCHS=${EPOCHS:-1}; shift ;;
    *) echo "$USAGE" >&2; exit 2 ;;
  esac
done
case "$OUT" in /*) ;; *) OUT="$PWD/$OUT" ;; esac  # relative to where the command was typed
cd "$REPO"
# hyperparameters of the toy networks of --check (thesis sizes otherwise)
tiny_kwargs() {
  case "$1" in
    dnn2) echo '{"filters": 4}' ;;
    unet) echo '{"base_filters": 4}' ;;
    *) echo "{\"generator_kwargs\": {\"base_filters\": 4}, \"discriminator_kwargs\": {\"base_filters\": 4, \"patch_size\": $PATCH}}" ;;
  esac
}
MSGAN="${MSGAN:-msgan}"
# name model loss refiner-loss (the comparisons of Tables 3.1-3.4 and 4.1-4.2)
CONFIGS=(
  "dnn2-l1 dnn2 l1 -" "dnn2-wl1 dnn2 wl1 -"
  "unet-l1 unet l1 -" "unet-wl1 unet wl1 -" "unet-nwl1 unet nwl1 -"
  "cgan-l1 cgan l1 -" "cgan-wl1 cgan wl1 -"
  "sketcher_refiner sketcher_refiner l1 wl1"
  "cfsagan-l1 cfsagan l1 -" "cfsagan-nwl1 cfsagan nwl1 -"
  "refiner_cfsagan refiner_cfsagan l1 nwl1"
)
N_EPOCHS=${EPOCHS:-400}
echo "${#CONFIGS[@]} configurations x 3 folds, ${N_EPOCHS} epochs per stage."
if [ -n "$CHECK" ]; then
  echo "Toy run (--check): about 15 minutes on 2 CPU cores; its numbers mean nothing."
else
  echo "Expected duration on 2 CPU cores: about $(( ${#CONFIGS[@]} * 3 * N_EPOCHS * 3 / 2 )) minutes" \
       "(~1.5 min per epoch of 64^3 patches of 12 training subjects; GAN stages count twice)."
fi

[ -d "$OUT/cohort" ] || $MSGAN simulate --out "$OUT/cohort" --n-ms "$N_MS" --n-hc "$N_HC" \
  --resolution "$RESOLUTION" --seed 0
[ -d "$OUT/shards" ] || $MSGAN make-tfrecords --cohort "$OUT/cohort" --task myelin --session t0 \
  --patch "$PATCH" --out "$OUT/shards" $AUGMENT

methods=""
for config in "${CONFIGS[@]}"; do
  read -r name model loss refiner <<<"$config"
  extra=()
  [ "$refiner" != "-" ] && extra+=(--refiner-loss "$refiner")
  [ -n "$EPOCHS" ] && extra+=(--epochs "$EPOCHS")
  [ -n "$CHECK" ] && extra+=(--model-kwargs "$(tiny_kwargs "$model")")
  # ch. 4 protocol for every method: 3 validation subjects out of each fold's training folds
  $MSGAN cv --model "$model" --data "$OUT/shards" --folds 3 --val-per-fold 3 --run "$OUT/cv/$name" --loss "$loss" \
    "${extra[@]}" --resume
  rm -rf "$OUT/predictions/$name" && mkdir -p "$OUT/predictions/$name"
  for fold in 1 2 3; do
    test_ids=$(python -c "import json,sys; f=json.load(open(sys.argv[1]))['folds'][int(sys.argv[2])-1]; print(','.join(f['test']))" \
      "$OUT/cv/$name/folds.json" "$fold")
    # the fixed model applied to its test subjects at both visits (sec. 4.3.1)
    $MSGAN predict --run "$OUT/cv/$name/fold-$fold" --cohort "$OUT/cohort" --subjects "$test_ids" \
      --out "$OUT/predictions/$name-fold$fold" --overwrite
    cp -r "$OUT/predictions/$name-fold$fold"/* "$OUT/predictions/$name/" && rm -rf "$OUT/predictions/$name-fold$fold"
  done
  [ "$name" = refiner_cfsagan ] || methods="${methods:+$methods,}$name=$OUT/predictions/$name"
done

$MSGAN evaluate --pred "$OUT/predictions/refiner_cfsagan" --label refiner_cfsagan --cohort "$OUT/cohort" \
  --task myelin-longitudinal --methods "$methods" --out "$OUT/evaluation" --overwrite

# Fig. 3.9: attention of a U-Net trained with L1 vs WL1, on one held-out patient of fold 1
patient=$(python -c "import json,sys; print(next(s for s in json.load(open(sys.argv[1]))['folds'][0]['test'] if s.startswith('ms')))" \
  "$OUT/cv/unet-l1/folds.json")
for name in unet-l1 unet-wl1; do
  $MSGAN saliency --run "$OUT/cv/$name/fold-1" --cohort "$OUT/cohort" --subject "$patient" \
    --out "$OUT/saliency/$name-$patient" --overwrite
done
echo "report: $OUT/evaluation/report.md"
