#!/usr/bin/env bash
# radraft's main job on the bundled default: starts the gateway and the draft worker as
# services on a fresh demo database, sends every fixture study to the gateway with dcmtk's
# dcmsend (as a modality would), waits until every study has its outcome (drafted, failed
# with its reason, or out of scope), prints the triaged worklist from Postgres, verifies the
# audit trail, and starts the review service with a demo radiologist and a demo PACS
# (Orthanc) that receives every draft as a DICOM SR (run from a terminal, everything keeps
# running until Ctrl-C; otherwise the script stops them and exits).
#
# The bundled model (fixtures/medgemma-tiny) is a RANDOM-WEIGHT TEST MODEL, not a medical
# one: its drafts are gibberish and its triage scores mean nothing. It exists to run the
# whole pipeline anywhere. For real drafts, export MedGemma (docs/medgemma.md) and set
# RADRAFT_WORKER__MODEL_DIR to the exported folder (and RADRAFT_WORKER__PROVIDERS to
# tensorrt,cuda,cpu on a GPU host).
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/setup.sh

db=radraft_demo
psql -h 127.0.0.1 -U root -d postgres -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
work="$(mktemp -d)"
dimse_port=11112
http_port=8080
worker_port=8081
review_port=8082
cargo build --release --locked -p radraft-gateway -p radraft-worker -p radraft-review
bin="${CARGO_TARGET_DIR:-target}/release"
export RADRAFT_GATEWAY__DATABASE_URL="postgres://root@127.0.0.1:5432/$db"
export RADRAFT_GATEWAY__ARCHIVE_DIR="$work/archive"
export RADRAFT_GATEWAY__DIMSE_ADDR="127.0.0.1:$dimse_port"
export RADRAFT_GATEWAY__HTTP_ADDR="127.0.0.1:$http_port"
export RADRAFT_GATEWAY__QUIET_PERIOD_MS=2000
export RADRAFT_GATEWAY__QUEUE_PREFIX=radraft-demo
export RADRAFT_GATEWAY__RETRY_DELAY_MS=5000
export RADRAFT_GATEWAY__ALLOWED_CALLING_AES=DEMO_MODALITY
export RADRAFT_WORKER__DATABASE_URL="$RADRAFT_GATEWAY__DATABASE_URL"
export RADRAFT_WORKER__ARCHIVE_DIR="$work/archive"
export RADRAFT_WORKER__QUEUE_PREFIX=radraft-demo
export RADRAFT_WORKER__RETRY_DELAY_MS=5000
export RADRAFT_WORKER__HTTP_ADDR="127.0.0.1:$worker_port"
export RADRAFT_WORKER__MODEL_DIR="${RADRAFT_WORKER__MODEL_DIR:-fixtures/medgemma-tiny}"
export RADRAFT_WORKER__PROVIDERS="${RADRAFT_WORKER__PROVIDERS:-cpu}"
# The tiny model's context is 256 tokens: two slices per CT/MR study, short drafts.
export RADRAFT_WORKER__MAX_SLICES="${RADRAFT_WORKER__MAX_SLICES:-2}"
export RADRAFT_WORKER__MAX_NEW_TOKENS="${RADRAFT_WORKER__MAX_NEW_TOKENS:-24}"
# Leftovers of an earlier demo run on the broker would be announced again: start clean.
for q in radraft-demo.study.ready radraft-demo.study.ready.dead radraft-demo.study.ready.retry; do
    rabbitmqctl -q delete_queue "$q" >/dev/null 2>&1 || true
done
"$bin/radraft-gateway" >"$work/gateway.log" 2>&1 &
gateway=$!
"$bin/radraft-worker" serve >"$work/worker.log" 2>&1 &
worker=$!
trap 'kill $gateway $worker 2>/dev/null || true; wait $gateway $worker 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do echoscu -aet DEMO_MODALITY -aec RADRAFT 127.0.0.1 $dimse_port 2>/dev/null && break; sleep 0.2; done
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$worker_port/readyz" >/dev/null && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$worker_port/readyz" || { echo "the worker is not ready; see $work/worker.log" >&2; tail -5 "$work/worker.log" >&2; exit 1; }
echo

studies=()
for dir in fixtures/generated/*/; do
    case "$(basename "$dir")" in bad|bench|external) continue ;; esac
    studies+=("$dir")
done
echo "sending ${#studies[@]} fixture folders with dcmsend: ${studies[*]}"
dcmsend -aet DEMO_MODALITY -aec RADRAFT --scan-directories --recurse --scan-pattern "*.dcm" 127.0.0.1 $dimse_port "${studies[@]}"

sql() { psql -h 127.0.0.1 -U root -d "$db" -v ON_ERROR_STOP=1 "$@"; }
pending=1
for _ in $(seq 1 240); do
    pending=$(sql -tAc "SELECT count(*) FROM studies WHERE state NOT IN ('drafted', 'failed', 'out_of_scope')")
    [[ "$pending" == 0 ]] && break
    sleep 0.5
done
echo
echo "Worklist (flagged first, then triage score). The model is a random test model: its"
echo "drafts and scores are meaningless; the pipeline around it is what this shows."
sql -c "
SELECT s.study_uid, s.accession_number AS accession,
       string_agg(DISTINCT se.modality, ',') AS modality,
       s.state AS draft_status,
       round(d.triage_score::numeric, 3) AS triage,
       CASE WHEN d.triage_flag THEN 'FLAG' ELSE '' END AS flag,
       left(coalesce(split_part(coalesce(d.impression, d.report_text), E'\n', 1),
                     s.failure_reason, ''), 50) AS impression_or_reason
FROM studies s
LEFT JOIN drafts d ON d.study_uid = s.study_uid AND d.superseded_at IS NULL
LEFT JOIN series se ON se.study_uid = s.study_uid
GROUP BY s.study_uid, s.accession_number, s.state, d.triage_score, d.triage_flag, d.impression, d.report_text, s.failure_reason
ORDER BY d.triage_flag DESC NULLS LAST, d.triage_score DESC NULLS LAST, s.study_uid"
sql -tAc "SELECT count(*) || ' drafts, ' || (SELECT count(*) FROM audit_events) || ' audit events' FROM drafts"
echo "archive: $work/archive   logs: $work/gateway.log $work/worker.log"
echo "from the worker's /metrics:"
curl -s "http://127.0.0.1:$worker_port/metrics" | grep -E '^radraft_worker_(studies_total|triage_flags_total|stage_seconds_sum\{stage="(vision|prefill|decode|total)")' || true
[[ "$pending" == 0 ]] || { echo "$pending studies have no outcome yet" >&2; exit 1; }

# A demo PACS (Orthanc) that receives the reports as DICOM SR.
pacs_http=8043
pacs_dicom=4243
cat >"$work/orthanc.json" <<JSON
{ "Name": "radraft-demo-pacs", "StorageDirectory": "$work/pacs", "IndexDirectory": "$work/pacs",
  "HttpPort": $pacs_http, "DicomPort": $pacs_dicom, "DicomAet": "DEMO_PACS",
  "RemoteAccessAllowed": false, "AuthenticationEnabled": false, "Plugins": [],
  "DicomCheckCalledAet": true, "DicomAlwaysAllowStore": true }
JSON
Orthanc "$work/orthanc.json" >"$work/pacs.log" 2>&1 &
pacs=$!
trap 'kill $gateway $worker $pacs 2>/dev/null || true; wait $gateway $worker $pacs 2>/dev/null || true' EXIT

# The review service on the demo data, with a demo radiologist; every draft goes to the
# demo PACS as an UNVERIFIED SR, every signed report as a VERIFIED one.
export RADRAFT_REVIEW__DATABASE_URL="$RADRAFT_GATEWAY__DATABASE_URL"
export RADRAFT_REVIEW__PACS__ADDR="127.0.0.1:$pacs_dicom"
export RADRAFT_REVIEW__PACS__CALLED_AE=DEMO_PACS
export RADRAFT_REVIEW__PACS__EXPORT_DRAFTS=true
export RADRAFT_REVIEW__ARCHIVE_DIR="$work/archive"
export RADRAFT_REVIEW__HTTP_ADDR="127.0.0.1:$review_port"
export RADRAFT_REVIEW__SECURE_COOKIES=false   # plain HTTP on localhost only
demo_password="demo-radiologist-$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"
echo "$demo_password" | "$bin/radraft-review" user add demo-rad --role radiologist --name "Demo Radiologist"
"$bin/radraft-review" audit verify
"$bin/radraft-review" serve >"$work/review.log" 2>&1 &
review=$!
trap 'kill $gateway $worker $review $pacs 2>/dev/null || true; wait $gateway $worker $review $pacs 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$review_port/login" && break; sleep 0.2; done
drafts=$(sql -tAc "SELECT count(*) FROM drafts WHERE superseded_at IS NULL AND NOT shadow")
sent=0
for _ in $(seq 1 100); do
    sent=$(sql -tAc "SELECT count(*) FROM report_exports WHERE state = 'sent'")
    [[ "$sent" -ge "$drafts" ]] && break
    sleep 0.2
done
srs=$(curl -s "http://127.0.0.1:$pacs_http/tools/find" -d '{"Level":"Instance","Query":{"Modality":"SR"}}' \
    | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))' || echo "?")
echo
echo "Results out: $sent of $drafts drafts sent to the demo PACS as UNVERIFIED DICOM SR"
echo "  (Orthanc http://127.0.0.1:$pacs_http/ holds $srs SR instances); signing one sends a VERIFIED SR."
[[ "$sent" -ge "$drafts" ]] || { echo "not every draft reached the demo PACS; see $work/review.log" >&2; exit 1; }
echo "FHIR: http://127.0.0.1:$review_port/api/studies/<study_uid>/fhir/DiagnosticReport (signed in)"
echo
echo "Review service: http://127.0.0.1:$review_port/  user demo-rad  password $demo_password"
if [[ -t 0 ]]; then
    echo "(gateway, worker and review keep running; Ctrl-C stops them)"
    wait $review
fi
