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
pg_isready -h 127.0.0.1 -p 5432
rabbitmq-diagnostics -q check_port_connectivity >/dev/null && echo "RabbitMQ is up"
