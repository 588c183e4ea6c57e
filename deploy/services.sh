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
# supervisor, rabbit_fifo_dlx_sup; after a burst of quorum queue deletions (test clean-up)
# it can exceed its restart intensity and stay dead, and every new queue of ours is then
# 'down'. A full restart brings it back (never stop_app/start_app: the listener stays away).
if [[ "$(rabbitmqctl eval 'is_pid(whereis(rabbit_fifo_dlx_sup)).' 2>/dev/null | tail -n 1)" == "false" ]]; then
    echo "RabbitMQ lost rabbit_fifo_dlx_sup: restarting it"
    rabbitmqctl stop >/dev/null 2>&1 || true
    rabbitmq-server -detached || true
    for _ in $(seq 1 60); do rabbitmq-diagnostics -q check_port_connectivity >/dev/null 2>&1 && break; sleep 1; done
fi
# Its restart intensity is 1 per 5 s in 3.10 (later releases: 100 per 1 s), and a
# dead-letter worker exits abnormally whenever its queue is deleted mid-checkout, so two
# test clean-ups in a row were enough. Give the running node the later releases' limit.
rabbitmqctl eval 'sys:replace_state(rabbit_fifo_dlx_sup, fun(S) -> setelement(7, setelement(6, S, 100), 1) end), ok.' >/dev/null 2>&1 \
    || echo "could not raise rabbit_fifo_dlx_sup's restart intensity (newer RabbitMQ?)"
pg_isready -h 127.0.0.1 -p 5432
rabbitmq-diagnostics -q check_port_connectivity >/dev/null && echo "RabbitMQ is up"
