#!/bin/sh
# Splits the CelebA faces into a training folder and a held-out folder of
# symbolic links (the images stay where they are): the first 9,500 faces to
# train the portrait model on, the last 500 to test it on faces it never saw.
#
#   weights/split-celeba.sh ../shared/data/train/CelebA runs/celeba
set -eu
src=$(cd "$1" && pwd)
out=$2
mkdir -p "$out/train" "$out/holdout"
ls "$src" | sort | head -n 9500 | while read -r f; do ln -sf "$src/$f" "$out/train/$f"; done
ls "$src" | sort | tail -n 500 | while read -r f; do ln -sf "$src/$f" "$out/holdout/$f"; done
echo "$(ls "$out/train" | wc -l) training faces, $(ls "$out/holdout" | wc -l) held out, in $out"
