#!/usr/bin/env bash
# One-shot setup of the compose broker (the kafka-setup service): each service's SCRAM user
# and the ACLs that let it do exactly what its AsyncAPI document says (docs/asyncapi/):
# write the topics it publishes and the dead-letter topics it feeds, read the topics it
# consumes through its consumer groups (<service>.<topic>), create the topics it ensures at
# start. Nothing else: in particular only identity may write notifier.requests, so a
# NotificationRequested whose envelope says `identity` really comes from identity.
# The external producers (docs/asyncapi/external.json: billing, resources, CAM, complaints)
# each get a user that may write its own topic and nothing else: verification and
# cancellation trust a billing.events fact because only billing can have written it.
# tests/unit/test_deploy_compose.py checks these lines against the AsyncAPI documents.
set -euo pipefail
admin="${ADMIN_CLIENT:-/opt/account-center/admin-client.sh}" # tests record the calls instead

user() { # name password: a SCRAM-SHA-512 user (re-running replaces the password)
  "$admin" kafka-configs --alter --entity-type users --entity-name "$1" \
    --add-config "SCRAM-SHA-512=[iterations=8192,password=$2]"
}

allow() { # user operation topic|group name [prefixed]
  local pattern=literal
  if [ "${5:-}" = prefixed ]; then pattern=prefixed; fi
  "$admin" kafka-acls --add --allow-principal "User:$1" --operation "$2" \
    "--$3" "$4" --resource-pattern-type "$pattern"
}

user identity "${IDENTITY_KAFKA_PASSWORD:?}"
user verification "${VERIFICATION_KAFKA_PASSWORD:?}"
user cancellation "${CANCELLATION_KAFKA_PASSWORD:?}"
user notifier "${NOTIFIER_KAFKA_PASSWORD:?}"
user billing "${BILLING_KAFKA_PASSWORD:?}"
user resources "${RESOURCES_KAFKA_PASSWORD:?}"
user cam "${CAM_KAFKA_PASSWORD:?}"
user complaints "${COMPLAINTS_KAFKA_PASSWORD:?}"

# identity: publishes identity.events, identity.contacts, notifier.requests; consumes
# verification.events and cancellation.events.
allow identity Write topic identity.events
allow identity Write topic identity.contacts
allow identity Write topic notifier.requests
allow identity Read topic verification.events
allow identity Read topic cancellation.events
allow identity Write topic verification.events.dlq
allow identity Write topic cancellation.events.dlq
allow identity Read group identity. prefixed
for topic in identity.events identity.contacts notifier.requests verification.events \
  cancellation.events; do
  allow identity Create topic "$topic"
  allow identity Create topic "$topic.dlq"
done

# verification: publishes verification.events; consumes identity.events, billing.events
# (RN-5: PaymentReceived completes a recharge; RN-10: BillingStanding), cam.events (RN-12) and
# cancellation.events (CAN-7: CancellationCompleted erases).
allow verification Write topic verification.events
allow verification Read topic identity.events
allow verification Read topic billing.events
allow verification Read topic cam.events
allow verification Read topic cancellation.events
allow verification Write topic identity.events.dlq
allow verification Write topic billing.events.dlq
allow verification Write topic cam.events.dlq
allow verification Write topic cancellation.events.dlq
allow verification Read group verification. prefixed
for topic in verification.events identity.events billing.events cam.events cancellation.events; do
  allow verification Create topic "$topic"
  allow verification Create topic "$topic.dlq"
done

# cancellation: publishes cancellation.events; consumes identity.events and the external
# facts of CAN-1/CAN-2 (EXT): billing.events, resources.events, cam.events, complaints.events;
# and the erasure confirmations (CAN-7) on verification.events and notifier.events.
allow cancellation Write topic cancellation.events
allow cancellation Read topic identity.events
allow cancellation Read topic billing.events
allow cancellation Read topic resources.events
allow cancellation Read topic cam.events
allow cancellation Read topic complaints.events
allow cancellation Read topic verification.events
allow cancellation Read topic notifier.events
allow cancellation Write topic identity.events.dlq
allow cancellation Write topic billing.events.dlq
allow cancellation Write topic resources.events.dlq
allow cancellation Write topic cam.events.dlq
allow cancellation Write topic complaints.events.dlq
allow cancellation Write topic verification.events.dlq
allow cancellation Write topic notifier.events.dlq
allow cancellation Read group cancellation. prefixed
for topic in cancellation.events identity.events billing.events resources.events cam.events \
  complaints.events verification.events notifier.events; do
  allow cancellation Create topic "$topic"
  allow cancellation Create topic "$topic.dlq"
done

# notifier: publishes notifier.events; consumes identity.events, identity.contacts,
# verification.events, cancellation.events and notifier.requests (reads it, never writes it;
# its failed deliveries go to notifier.requests.dlq).
allow notifier Write topic notifier.events
allow notifier Read topic identity.events
allow notifier Read topic identity.contacts
allow notifier Read topic verification.events
allow notifier Read topic cancellation.events
allow notifier Read topic notifier.requests
allow notifier Write topic identity.events.dlq
allow notifier Write topic identity.contacts.dlq
allow notifier Write topic verification.events.dlq
allow notifier Write topic cancellation.events.dlq
allow notifier Write topic notifier.requests.dlq
allow notifier Read group notifier. prefixed
for topic in notifier.events identity.events identity.contacts verification.events \
  cancellation.events notifier.requests; do
  allow notifier Create topic "$topic"
  allow notifier Create topic "$topic.dlq"
done

# External producers: Write on their own topic only (no Read, no group, no Create: the
# consuming services create the topics; a producer's idempotence needs no more than Write).
for producer in billing resources cam complaints; do
  allow "$producer" Write topic "$producer.events"
done

echo "kafka users and ACLs in place"
"$admin" kafka-acls --list
