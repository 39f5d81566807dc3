#!/usr/bin/env bash
# Run a Kafka CLI tool as the broker's admin (SASL/PLAIN on the INTERNAL listener):
#   admin-client.sh kafka-topics --list
# The password comes from BROKER_ADMIN_PASSWORD (deploy/.env, never a file in the image).
set -euo pipefail
: "${BROKER_ADMIN_PASSWORD:?BROKER_ADMIN_PASSWORD is not set}"
tool="$1"
shift
properties="$(mktemp)"
trap 'rm -f "$properties"' EXIT
cat > "$properties" <<PROPERTIES
security.protocol=SASL_PLAINTEXT
sasl.mechanism=PLAIN
sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="${BROKER_ADMIN_PASSWORD}";
PROPERTIES
"/opt/kafka/bin/${tool}.sh" --bootstrap-server kafka:9092 --command-config "$properties" "$@"
