"""Makes PyFlink's Python worker servers listen on loopback only: one instruction of flink-python's jar.

Each PyFlink job's Python worker talks to the TaskManager over gRPC servers (Beam's Fn API)
that flink-python 1.20 builds in `ServerFactory.InetSocketAddressServerFactory.createServer`
with `NettyServerBuilder.forPort(address.getPort())`: the loopback address it was given is
dropped, and the port opens on every interface. The fix is the call Beam's own API has for it,
`NettyServerBuilder.forAddress(address)`. This rewrites that one call in the class file:

    aload_1; invokevirtual InetSocketAddress.getPort()I; invokestatic forPort(I)
 -> aload_1; nop; nop; nop;                            invokestatic forAddress(SocketAddress)

The code keeps its length and stack (an address in place of an int, a builder out), so
nothing else in the class moves but a constant pool grown by the new method's entries.
Nothing is downloaded or compiled. Run by stack/venv.sh for the flink venv; a second run
finds the jar patched and leaves it. docs/security.md says why; test_security.py checks the
worker's ports on the running stack.

usage: patch_flink_python.py FLINK_VENV"""
import shutil
import struct
import sys
import tempfile
import zipfile
from pathlib import Path

CLASS = "org/apache/beam/sdk/fn/server/ServerFactory$InetSocketAddressServerFactory.class"
BUILDER = "org/apache/beam/vendor/grpc/v1p48p1/io/grpc/netty/NettyServerBuilder"
FOR_ADDRESS = ("forAddress", f"(Ljava/net/SocketAddress;)L{BUILDER};")
INVOKEVIRTUAL, INVOKESTATIC, NOP = 0xB6, 0xB8, 0x00
# Bytes after the tag of each constant pool entry (Utf8's are its length's 2 plus the length).
SIZES = {3: 4, 4: 4, 5: 8, 6: 8, 7: 2, 8: 2, 9: 4, 10: 4, 11: 4, 12: 4, 15: 3, 16: 2, 17: 4, 18: 4, 19: 2, 20: 2}


def constant_pool(data: bytes) -> tuple[dict[int, tuple], int]:
    """{index: (tag, fields)} and the offset where the pool ends."""
    count, pos, index, pool = struct.unpack_from(">H", data, 8)[0], 10, 1, {}
    while index < count:
        tag = data[pos]
        if tag == 1:
            length = struct.unpack_from(">H", data, pos + 1)[0]
            pool[index] = (1, data[pos + 3:pos + 3 + length].decode("utf-8", "replace"))
            pos += 3 + length
        else:
            size = SIZES[tag]
            pool[index] = (tag, struct.unpack_from(">" + "H" * (size // 2), data, pos + 1) if size in (2, 4) else None)
            pos += 1 + size
        index += 2 if tag in (5, 6) else 1
    return pool, pos


def method_ref(pool: dict, index: int) -> tuple[str, str, str]:
    """(class, name, descriptor) of a Methodref."""
    class_index, name_and_type = pool[index][1]
    name, descriptor = pool[name_and_type][1]
    return pool[pool[class_index][1][0]][1], pool[name][1], pool[descriptor][1]


def patched(data: bytes) -> bytes | None:
    """The class with forAddress called in place of getPort + forPort, or None if it is
    patched already."""
    pool, end = constant_pool(data)
    refs = {method_ref(pool, i): i for i, (tag, _) in pool.items() if tag == 10}
    if (BUILDER, *FOR_ADDRESS) in refs:
        return None  # patched already
    get_port = refs.get(("java/net/InetSocketAddress", "getPort", "()I"))
    for_port = refs.get((BUILDER, "forPort", f"(I)L{BUILDER};"))
    if get_port is None or for_port is None:
        raise SystemExit(f"patch_flink_python: {CLASS} does not call forPort as flink-python 1.20 does: "
                         "check whether this version still binds its worker servers to every interface")
    old = bytes([INVOKEVIRTUAL]) + struct.pack(">H", get_port) + bytes([INVOKESTATIC]) + struct.pack(">H", for_port)
    if data.count(old) != 1:
        raise SystemExit(f"patch_flink_python: {CLASS}: the call to patch appears {data.count(old)} times, not once")
    builder_class = next(i for i, (tag, f) in pool.items() if tag == 7 and pool[f[0]][1] == BUILDER)
    count = struct.unpack_from(">H", data, 8)[0]
    name, descriptor, name_and_type, ref = count, count + 1, count + 2, count + 3
    added = b"".join([bytes([1]) + struct.pack(">H", len(FOR_ADDRESS[0])) + FOR_ADDRESS[0].encode(),
                      bytes([1]) + struct.pack(">H", len(FOR_ADDRESS[1])) + FOR_ADDRESS[1].encode(),
                      bytes([12]) + struct.pack(">HH", name, descriptor),
                      bytes([10]) + struct.pack(">HH", builder_class, name_and_type)])
    new = bytes([NOP, NOP, NOP, INVOKESTATIC]) + struct.pack(">H", ref)
    assert len(new) == len(old)
    return (data[:8] + struct.pack(">H", count + 4) + data[10:end] + added + data[end:]).replace(old, new)


def main() -> int:
    venv = Path(sys.argv[1])
    jars = sorted(venv.glob("lib/python3*/site-packages/pyflink/opt/flink-python-*.jar"))
    if len(jars) != 1:
        raise SystemExit(f"patch_flink_python: no single flink-python jar in {venv}: {jars}")
    jar = jars[0]
    with zipfile.ZipFile(jar) as z:
        fixed = patched(z.read(CLASS))
    if fixed is None:
        return 0
    with tempfile.NamedTemporaryFile(dir=jar.parent, suffix=".jar", delete=False) as tmp, \
            zipfile.ZipFile(jar) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item, fixed if item.filename == CLASS else src.read(item.filename))
    shutil.copymode(jar, tmp.name)
    shutil.move(tmp.name, jar)
    print(f"patched {jar.name}: PyFlink's worker servers listen on loopback only", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
