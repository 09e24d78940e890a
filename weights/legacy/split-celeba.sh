#!/bin/sh
# Splits the CelebA faces into folders of symbolic links (the images stay
# where they are): the first 9,000 to train the portrait model on, the next
# 500 to validate it while it trains, the last 500 to test it on faces it
# never saw, neither in training nor in choosing its weights.
#
#   weights/split-celeba.sh ../shared/data/train/CelebA runs/celeba
set -eu
src=$(cd "$1" && pwd)
out=$2
mkdir -p "$out/train" "$out/val" "$out/test"
ls "$src" | sort | sed -n '1,9000p' | while read -r f; do ln -sf "$src/$f" "$out/train/$f"; done
ls "$src" | sort | sed -n '9001,9500p' | while read -r f; do ln -sf "$src/$f" "$out/val/$f"; done
ls "$src" | sort | sed -n '9501,10000p' | while read -r f; do ln -sf "$src/$f" "$out/test/$f"; done
echo "$(ls "$out/train" | wc -l) training, $(ls "$out/val" | wc -l) validation and $(ls "$out/test" | wc -l) test faces in $out"
