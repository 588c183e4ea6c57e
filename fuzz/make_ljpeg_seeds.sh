#!/usr/bin/env bash
# Writes the JPEG Lossless seeds (fuzz/seeds/ljpeg-*.dcm) from the synthetic seeds with
# dcmtk's dcmcjpeg (3.6.7, from deploy/apt-packages.sh): process 14 selection value 1
# (.70) for 8/16-bit, signed and multi-frame objects, selection values 2-7 (.57), and one
# with a point transform (which our decoder leaves to dicom-rs). Run after make_seeds.py.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/seeds"
dcmcjpeg +e1 mono2-16-window.dcm ljpeg-sv1-16.dcm
dcmcjpeg +e1 mono1-8.dcm ljpeg-sv1-mono1-8.dcm
dcmcjpeg +e1 mr-multiframe.dcm ljpeg-sv1-multiframe.dcm
dcmcjpeg +e1 ct-signed-rescale.dcm ljpeg-sv1-signed.dcm
for sv in 2 3 4 5 6 7; do
    dcmcjpeg +el +sv "$sv" mono2-16-window.dcm "ljpeg-sv$sv.dcm"
done
dcmcjpeg +el +sv 4 +pt 2 mono2-16-window.dcm ljpeg-sv4-pt2.dcm
