#!/usr/bin/env bash
# Starts the local PostgreSQL and RabbitMQ if they are not running (CI machines start them
# before the job, but a fresh developer machine or a crashed service may not have them).
set -euo pipefail

if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
    echo "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
    for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
if ! rabbitmq-diagnostics -q check_port_connectivity >/dev/null 2>&1; then
    echo "starting RabbitMQ"
    rabbitmq-server -detached || true
    for _ in $(seq 1 60); do rabbitmq-diagnostics -q check_port_connectivity >/dev/null 2>&1 && break; sleep 1; done
fi
# RabbitMQ 3.10 runs at-least-once dead lettering (our work and retry queues) through one
# supervisor, rabbit_fifo_dlx_sup. A quorum queue deleted while another connection is
# declaring it (deploy/checks/rabbitmq_dlx_race.sh reproduces it on a node of its own)
# kills its dead-letter worker during start-up; the restarted worker fails at once on the
# missing queue and the loop exhausts the supervisor's restart intensity (raising it does
# not help); from then on every new queue of ours is refused. So the tests never delete
# their queues: the policy below expires a test queue unused for 30 minutes. A node that lost
# the supervisor anyway is restarted in full (never stop_app/start_app: the listener stays
# away).
if [[ "$(rabbitmqctl eval 'is_pid(whereis(rabbit_fifo_dlx_sup)).' 2>/dev/null | tail -n 1)" == "false" ]]; then
    echo "RabbitMQ lost rabbit_fifo_dlx_sup: restarting it"
    rabbitmqctl stop >/dev/null 2>&1 || true
    rabbitmq-server -detached || true
    for _ in $(seq 1 60); do rabbitmq-diagnostics -q check_port_connectivity >/dev/null 2>&1 && break; sleep 1; done
fi
if ! rabbitmqctl -q list_policies 2>/dev/null | grep -q radraft-test-queues; then
    rabbitmqctl -q set_policy --apply-to queues radraft-test-queues '^radraft-(e2e|test)-' '{"expires":1800000}'
fi
pg_isready -h 127.0.0.1 -p 5432
rabbitmq-diagnostics -q check_port_connectivity >/dev/null && echo "RabbitMQ is up"
