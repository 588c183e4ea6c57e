#!/usr/bin/env bash
# Fetches ONNX Runtime's shared library from the pinned PyPI `onnxruntime` wheel (the only
# registry we reach that ships it), checks the wheel's sha256, and unpacks the library into
# the cache. Idempotent. Prints the library's path as its last line; `ort` loads it
# dynamically through ORT_DYLIB_PATH. The version must match ort's `api-31` feature.
set -euo pipefail
version=1.31.1
wheel="onnxruntime-${version}-cp311-cp311-manylinux_2_28_x86_64.whl"
sha256=5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f
dest="${RADRAFT_CACHE:-$HOME/.cache/radraft}/onnxruntime/${version}"
lib="$dest/libonnxruntime.so.${version}"

if [[ ! -f "$lib" ]]; then
    mkdir -p "$dest"
    download="$(mktemp -d)"
    trap 'rm -rf "$download"' EXIT
    # The platform and ABI are named explicitly so every machine fetches the same file,
    # whatever Python runs pip; only the native library inside is used.
    pip download --quiet --no-deps --only-binary=:all: --platform manylinux_2_28_x86_64 \
        --python-version 311 --implementation cp --abi cp311 -d "$download" "onnxruntime==${version}" >&2
    echo "${sha256}  ${download}/${wheel}" | sha256sum --check --quiet >&2
    unzip -q -j -o "$download/$wheel" "onnxruntime/capi/libonnxruntime.so.${version}" \
        "onnxruntime/capi/libonnxruntime_providers_shared.so" -d "$dest"
    ln -sf "libonnxruntime.so.${version}" "$dest/libonnxruntime.so"
fi
echo "$lib"
