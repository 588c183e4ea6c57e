#!/usr/bin/env bash
# Writes the JPEG-LS seeds (fuzz/seeds/jls-*.dcm) from the synthetic seeds with dcmtk's
# dcmcjpls (3.6.7, from deploy/apt-packages.sh): lossless 8/16-bit, signed and
# multi-frame objects, near-lossless (NEAR 2 and 5), preset thresholds and RESET written
# in an LSE segment, and colour (which our decoder leaves to CharLS). Run after
# make_seeds.py.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/seeds"
dcmcjpls +el mono2-16-window.dcm jls-16.dcm
dcmcjpls +el mono1-8.dcm jls-mono1-8.dcm
dcmcjpls +el mr-multiframe.dcm jls-multiframe.dcm
dcmcjpls +el ct-signed-rescale.dcm jls-signed.dcm
dcmcjpls +en +md 2 mono2-16-window.dcm jls-near2-16.dcm
dcmcjpls +en +md 5 mono1-8.dcm jls-near5-8.dcm
dcmcjpls +el +t1 5 +t2 9 +t3 30 +rs 32 mono1-8.dcm jls-preset-8.dcm
dcmcjpls +el rgb.dcm jls-rgb.dcm
