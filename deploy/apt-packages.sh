#!/usr/bin/env bash
# Installs the Debian packages radraft's build and tests need, if any is missing:
# dcmtk (dcmsend, echoscu, dcmodify, transcoders, dsrdump), Orthanc with DICOMweb, gdcm's
# tools (JPEG 2000 fixtures), dicom3tools (dciodvfy checks the SRs radraft sends), cmake
# (CharLS build), the Postgres client tools, and chromium with chromedriver for the review
# UI's browser test.
set -euo pipefail

packages=(dcmtk orthanc orthanc-dicomweb libgdcm-tools dicom3tools cmake pkg-config postgresql-client curl unzip chromium chromium-driver)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    apt-get update -qq
    # policy-rc.d may refuse to start Orthanc's service; we start Orthanc ourselves.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null || {
        dpkg-query -W dcmtk orthanc >/dev/null
    }
fi
