"""The documentation stays true to the code: reason codes and exit codes."""
import re
import subprocess

from testenv import ROOT


def test_reason_codes_documented_with_their_numbers():
    import dq
    doc = (ROOT / "docs" / "reason-codes.md").read_text()
    rows = dict((name, int(num)) for num, name in re.findall(r"^\|\s*(\d+)\s*\|\s*`([A-Z_0-9]+)`", doc, re.M))
    assert rows == {name: i for i, name in enumerate(dq.REASONS) if i > 0}


def test_header_reason_enum_matches_library():
    import dq
    header = (ROOT / "include" / "dq" / "dq.h").read_text()
    table = header[header.index("#define DQ_REASONS(X)"):header.index("typedef enum dq_reason")]
    enum = dict((name, int(num)) for name, num in re.findall(r"X\(([A-Z_0-9]+), (\d+), \"", table))
    assert enum == {name: i for i, name in enumerate(dq.REASONS)}


def test_check_help_lists_exit_codes(dq_bin):
    out = subprocess.run([dq_bin, "check", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    assert ("Exit codes: 0 ok, 1 rejects with --fail-on-reject, 2 usage, 3 contract or model,\n"
            "4 input/output, 6 out of memory.") in out.stdout
    documented = re.findall(r"^\| (\d) \|", (ROOT / "docs" / "cli.md").read_text(), re.M)
    assert documented == ["0", "1", "2", "3", "4", "5", "6"]
    codes = re.findall(r"#define CLI_EXIT_\w+ (\d+)", (ROOT / "cli" / "cli.h").read_text())
    assert sorted(codes) == documented
