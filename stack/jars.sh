#!/usr/bin/env bash
# Resolves one component's jars from Maven Central into the download cache:
#   stack/jars.sh NAME  -> prints the folder holding NAME's jars
# Uses `mvn dependency:copy-dependencies` on stack/maven/NAME.xml; Maven's own
# ~/.m2 cache makes a second run download nothing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"

name="${1:?usage: jars.sh NAME}"
pom="$here/maven/$name.xml"
[ -f "$pom" ] || die "no $pom"
props=(-Dkafka.version="$KAFKA_VERSION" -Dkafka.scala="$KAFKA_SCALA"
       -Dcassandra.version="$CASSANDRA_VERSION" -Dflink.version="$FLINK_VERSION"
       -Dflink.kafka.connector="$FLINK_KAFKA_CONNECTOR"
       -Dspark.version="$SPARK_VERSION" -Dspark.scala="$SPARK_SCALA"
       -Dspark.cassandra.connector="$SPARK_CASSANDRA_CONNECTOR"
       -Djmx.exporter.version="$JMX_EXPORTER_VERSION" -Dlog4j.version="$LOG4J_VERSION")
want="$(cat "$pom" "$here/versions.env" | sha256sum | cut -c1-16)"
dir="$DQ_CACHE/jars/$name"
if [ "$(cat "$dir/.dq-stamp" 2>/dev/null)" != "$want" ]; then
    step "jars $name: resolving from Maven Central"
    rm -rf "$dir"
    mkdir -p "$dir"
    mvn -B -q -f "$pom" "${props[@]}" dependency:copy-dependencies \
        -DincludeScope=runtime -DoutputDirectory="$dir" >&2 \
        || die "mvn could not resolve the jars for '$name' (see above); check the versions in stack/versions.env"
    echo "$want" > "$dir/.dq-stamp"
fi
echo "$dir"
