#!/bin/bash
# The docker-compose broker, secured as the local one is (docs/security.md): SASL_SSL
# client listener, mutual-TLS controller listener, StandardAuthorizer with no ACL = deny.
# The CA, node certificate and passwords are mounted read-only at /run/secrets/kafka
# (made by `frontdoor kafka secrets DIR --host kafka`), never baked into an image.
# Storage is formatted once with every principal's SCRAM credential through a java
# @-file, so no password is ever on a command line.
set -euo pipefail
secrets=/run/secrets/kafka
work=/tmp/frontdoor
umask 077
mkdir -p "$work"
conf="$work/server.properties"
cat > "$conf" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@kafka:9093
listeners=CLIENT://:9092,CONTROLLER://:9093
advertised.listeners=CLIENT://kafka:9092
controller.listener.names=CONTROLLER
inter.broker.listener.name=CLIENT
log.dirs=/var/lib/kafka/data
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
listener.security.protocol.map=CONTROLLER:SSL,CLIENT:SASL_SSL
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.client.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="$(cat "$secrets/passwords/broker")";
ssl.keystore.type=PEM
ssl.keystore.location=$secrets/node.pem
ssl.truststore.type=PEM
ssl.truststore.location=$secrets/ca.pem
listener.name.controller.ssl.client.auth=required
ssl.principal.mapping.rules=RULE:^CN=([A-Za-z0-9._-]+),.*\$/\$1/,RULE:^.*\$/unmapped/
ssl.enabled.protocols=TLSv1.3,TLSv1.2
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:broker;User:frontdoor-node;User:admin
PROPS

java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
if [ ! -f /var/lib/kafka/data/meta.properties ]; then
  args="$work/format.args"
  {
    echo "-cp"; echo "\"/opt/kafka/libs/*\""
    echo "kafka.tools.StorageTool"; echo "format"
    echo "-t"; echo "${CLUSTER_ID:?set CLUSTER_ID}"; echo "-c"; echo "$conf"
    for file in "$secrets"/passwords/*; do
      echo "--add-scram"
      echo "\"SCRAM-SHA-512=[name=$(basename "$file"),password=$(cat "$file")]\""
    done
  } > "$args"
  "$java" "@$args"
  rm -f "$args"
fi
exec /opt/kafka/bin/kafka-server-start.sh "$conf"
