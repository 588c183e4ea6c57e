#!/usr/bin/env bash
# radraft's main job on the bundled default: starts the gateway on a fresh demo database,
# sends every fixture study to it with dcmtk's dcmsend (as a modality would), waits until
# each study has settled and its study.ready was confirmed by RabbitMQ, and prints what
# arrived; then drafts every archived study with radraft-worker and the committed tiny
# random-weight MedGemma (its drafts are gibberish by design: the point is the pipeline and
# its timings; its 256-token context needs a short instruction). The queue consumer that
# writes drafts to Postgres will replace that step.
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/setup.sh

db=radraft_demo
psql -h 127.0.0.1 -U root -d postgres -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
work="$(mktemp -d)"
dimse_port=11112
http_port=8080
cargo build --release --locked -p radraft-gateway -p radraft-worker
export RADRAFT_GATEWAY__DATABASE_URL="postgres://root@127.0.0.1:5432/$db"
export RADRAFT_GATEWAY__ARCHIVE_DIR="$work/archive"
export RADRAFT_GATEWAY__DIMSE_ADDR="127.0.0.1:$dimse_port"
export RADRAFT_GATEWAY__HTTP_ADDR="127.0.0.1:$http_port"
export RADRAFT_GATEWAY__QUIET_PERIOD_MS=2000
export RADRAFT_GATEWAY__QUEUE_PREFIX=radraft-demo
export RADRAFT_GATEWAY__ALLOWED_CALLING_AES=DEMO_MODALITY
"${CARGO_TARGET_DIR:-target}/release/radraft-gateway" >"$work/gateway.log" 2>&1 &
gateway=$!
trap 'kill $gateway 2>/dev/null || true; wait $gateway 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do echoscu -aet DEMO_MODALITY -aec RADRAFT 127.0.0.1 $dimse_port 2>/dev/null && break; sleep 0.2; done

studies=()
for dir in fixtures/generated/*/; do
    case "$(basename "$dir")" in bad|bench|external) continue ;; esac
    studies+=("$dir")
done
echo "sending ${#studies[@]} fixture folders with dcmsend: ${studies[*]}"
dcmsend -aet DEMO_MODALITY -aec RADRAFT --scan-directories --recurse --scan-pattern "*.dcm" 127.0.0.1 $dimse_port "${studies[@]}"

sql() { psql -h 127.0.0.1 -U root -d "$db" -v ON_ERROR_STOP=1 "$@"; }
for _ in $(seq 1 60); do
    pending=$(sql -tAc "SELECT count(*) FROM studies WHERE state <> 'queued'")
    [[ "$pending" == 0 ]] && break
    sleep 0.5
done
echo
echo "What arrived (study.ready confirmed by RabbitMQ for every queued version):"
sql -c "
SELECT s.study_uid, s.state, s.version,
       count(i.*) AS instances,
       string_agg(DISTINCT se.modality, ',') AS modalities,
       count(DISTINCT i.transfer_syntax_uid) AS transfer_syntaxes,
       pg_size_pretty(sum(i.size_bytes)) AS size,
       to_char(v.published_at, 'HH24:MI:SS.MS') AS announced
FROM studies s
JOIN instances i ON i.study_uid = s.study_uid AND i.superseded_at IS NULL
JOIN series se ON se.series_uid = i.series_uid
LEFT JOIN study_versions v ON v.study_uid = s.study_uid AND v.version = s.version
GROUP BY s.study_uid, s.state, s.version, v.published_at
ORDER BY s.study_uid"
echo "archive: $work/archive   gateway log: $work/gateway.log"
[[ "$pending" == 0 ]] || { echo "some studies did not settle" >&2; exit 1; }

echo
echo "Drafting every archived study (tiny random-weight model, CPU):"
"${CARGO_TARGET_DIR:-target}/release/radraft-worker" draft "$work/archive" \
    --model fixtures/medgemma-tiny --provider cpu --max-slices 4 --max-new-tokens 24 \
    --prompt "Describe the findings." \
    --png-dir "$work/pngs"
echo "what the model saw: $work/pngs"
