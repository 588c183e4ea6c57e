#!/usr/bin/env bash
# Reproduces the RabbitMQ 3.10 defect ARCHITECTURE.md warns about, on a node of its own
# (port 5699; the machine's broker is not touched): one connection declares a new quorum
# queue with at-least-once dead lettering while another deletes it. Prints after how many
# tries the node lost rabbit_fifo_dlx_sup, or that it survived. Needs root (runs the node
# as `rabbitmq`) and PyPI (pika, in a venv under $RADRAFT_CACHE).
set -euo pipefail
cache="${RADRAFT_CACHE:-$HOME/.cache/radraft}"
venv="$cache/pika-venv"
[[ -x "$venv/bin/python" ]] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q pika; }
dir="$(mktemp -d)"
node="dlxrace@localhost"
printf 'NODENAME=%s\nERL_EPMD_ADDRESS=127.0.0.1\n' "$node" > "$dir/env.conf"
printf 'listeners.tcp.local = 127.0.0.1:5699\nloopback_users = none\n' > "$dir/rabbitmq.conf"
echo '[].' > "$dir/enabled_plugins"
chown -R rabbitmq: "$dir"
as_node() {
    runuser -u rabbitmq -- env HOME=/var/lib/rabbitmq RABBITMQ_CONF_ENV_FILE="$dir/env.conf" \
        RABBITMQ_CONFIG_FILE="$dir/rabbitmq" RABBITMQ_NODENAME="$node" RABBITMQ_DIST_PORT=25699 \
        RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log" RABBITMQ_PID_FILE="$dir/pid" \
        RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" "/usr/lib/rabbitmq/bin/$1" "${@:2}"
}
trap 'as_node rabbitmqctl -n "$node" stop >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
as_node rabbitmq-server -detached
for _ in $(seq 1 60); do (echo > /dev/tcp/127.0.0.1/5699) 2>/dev/null && break; sleep 1; done
"$venv/bin/python" - <<'PY'
import random, threading, time, uuid
import pika

URL = "amqp://guest:guest@127.0.0.1:5699/%2f"
ARGS = {"x-queue-type": "quorum", "x-dead-letter-exchange": "race.dead",
        "x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"}
declarer = pika.BlockingConnection(pika.URLParameters(URL)).channel()
deleter = pika.BlockingConnection(pika.URLParameters(URL)).channel()
declarer.exchange_declare("race.dead", "fanout", durable=True)
for attempt in range(1, 501):
    queue = "race-" + uuid.uuid4().hex[:8]
    delay = random.random() * 0.03
    def delete():
        time.sleep(delay)
        try:
            deleter.queue_delete(queue)
        except Exception:
            pass
    thread = threading.Thread(target=delete)
    thread.start()
    try:
        declarer.queue_declare(queue, durable=True, arguments=ARGS)
    except Exception as error:
        thread.join()
        print(f"try {attempt}: declare refused ({error}): the dead-letter supervisor is gone")
        break
    thread.join()
    deleter.queue_delete(queue)
else:
    print("500 tries: the declare never failed")
PY
echo "rabbit_fifo_dlx_sup alive: $(as_node rabbitmqctl -n "$node" eval 'is_pid(whereis(rabbit_fifo_dlx_sup)).' | tail -n 1)"
