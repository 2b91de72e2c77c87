#!/usr/bin/env bash
# Builds librdkafka $LIBRDKAFKA_VERSION (stack/versions.env) into $DQ_CACHE/librdkafka/<version>
# once, and prints that prefix: the dq tool links it statically. Why not Debian's: librdkafka
# before 2.6.1 answers Kafka 4's SCRAM exchange with a wrong nonce, so no login succeeds
# (docs/security.md). The released C source comes from crates.io, the registry this project
# may download from that carries it (inside the rdkafka-sys crate), checked against its
# SHA-256 in stack/versions.env. About a minute.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"

prefix="$DQ_CACHE/librdkafka/$LIBRDKAFKA_VERSION"
if [ ! -f "$prefix/.built" ]; then
    step "building librdkafka $LIBRDKAFKA_VERSION (once; about a minute)"
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    url="https://static.crates.io/crates/${LIBRDKAFKA_CRATE%-*}/${LIBRDKAFKA_CRATE//+/%2B}.crate"
    curl -fsSL --retry 3 -o "$work/crate.tar.gz" "$url" || die "downloading $url failed: crates.io must be reachable once"
    echo "$LIBRDKAFKA_CRATE_SHA256  $work/crate.tar.gz" | sha256sum -c --quiet - >&2 \
        || die "$url does not have the SHA-256 in stack/versions.env"
    tar -xzf "$work/crate.tar.gz" -C "$work"
    src="$work/$LIBRDKAFKA_CRATE/librdkafka"
    grep -q "RD_KAFKA_VERSION  *0x0*$(printf '%02x%02x%02x' ${LIBRDKAFKA_VERSION//./ })ff" "$src/src/rdkafka.h" \
        || die "$LIBRDKAFKA_CRATE is not librdkafka $LIBRDKAFKA_VERSION: fix stack/versions.env"
    # SCRAM needs OpenSSL; nothing optional that would need more Debian packages. The logs
    # go beside the tree: mklove takes any configure.* inside it for a module.
    (cd "$src" && ./configure --prefix="$prefix" --enable-ssl --disable-gssapi --disable-curl --disable-zstd \
        --disable-lz4-ext --disable-regex-ext >"$work/configure.log" 2>&1 \
        && make -j "${JOBS:-2}" libs >"$work/make.log" 2>&1 && make install-subdirs >"$work/install.log" 2>&1) \
        || { tail -n 20 "$work"/*.log >&2; die "building librdkafka failed (the log tail is above)"; }
    touch "$prefix/.built"
fi
echo "$prefix"
