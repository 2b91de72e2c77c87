#!/usr/bin/env bash
# Builds librdkafka $LIBRDKAFKA_VERSION (stack/versions.env) into $DQ_CACHE/librdkafka/<version>
# once, and prints that prefix: the dq tool links it statically. Why not Debian's: librdkafka
# before 2.6.1 answers Kafka 4's SCRAM exchange with a wrong nonce, so no login succeeds
# (docs/security.md). The source comes from crates.io (the rdkafka-sys crate carries it),
# downloaded by cargo and checked against stack/librdkafka/Cargo.lock. About a minute.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"

prefix="$DQ_CACHE/librdkafka/$LIBRDKAFKA_VERSION"
if [ ! -f "$prefix/.built" ]; then
    command -v cargo >/dev/null || die "cargo not found: librdkafka's source comes from crates.io (install Rust with rustup)"
    step "building librdkafka $LIBRDKAFKA_VERSION (once; about a minute)"
    manifest="$here/librdkafka/Cargo.toml"
    cargo fetch --locked --manifest-path "$manifest" >&2 || die "cargo fetch failed: crates.io must be reachable once"
    crate="$(cargo metadata --locked --format-version 1 --manifest-path "$manifest" 2>/dev/null | python3 -c "
import json, sys
print(next(p['manifest_path'] for p in json.load(sys.stdin)['packages'] if p['name'] == 'rdkafka-sys'))")"
    src="$(dirname "$crate")/librdkafka"
    grep -q "RD_KAFKA_VERSION  *0x0*$(printf '%02x%02x%02x' ${LIBRDKAFKA_VERSION//./ })ff" "$src/src/rdkafka.h" \
        || die "$src is not librdkafka $LIBRDKAFKA_VERSION: stack/versions.env and stack/librdkafka/Cargo.toml disagree"
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    cp -r "$src" "$work/src"  # logs beside it: mklove takes any configure.* in the tree for a module
    # SCRAM needs OpenSSL; nothing optional that would need more Debian packages.
    (cd "$work/src" && ./configure --prefix="$prefix" --enable-ssl --disable-gssapi --disable-curl --disable-zstd \
        --disable-lz4-ext --disable-regex-ext >"$work/configure.log" 2>&1 \
        && make -j "${JOBS:-2}" libs >"$work/make.log" 2>&1 && make install-subdirs >"$work/install.log" 2>&1) \
        || { tail -n 20 "$work"/*.log >&2; die "building librdkafka failed (the log tail is above)"; }
    touch "$prefix/.built"
fi
echo "$prefix"
